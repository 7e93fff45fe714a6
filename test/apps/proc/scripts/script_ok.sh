#!/bin/sh
exit 12
