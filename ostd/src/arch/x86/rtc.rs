//! The CMOS real-time clock, read once at boot for the wall-clock time.

use x86_64::instructions::port::Port;

fn read_register(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers, owned
    // by this module; bit 7 of the index keeps NMIs enabled as they were.
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

fn update_in_progress() -> bool {
    read_register(0x0a) & 0x80 != 0
}

/// Seconds since the Unix epoch according to the RTC (assumed UTC).
pub(crate) fn read_unix_time() -> u64 {
    let read_all = || {
        while update_in_progress() {
            core::hint::spin_loop();
        }
        [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32].map(read_register)
    };
    // Read until two consecutive reads agree, so no update tore the value.
    let mut regs = read_all();
    for _ in 0..8 {
        let again = read_all();
        if again == regs {
            break;
        }
        regs = again;
    }
    let status_b = read_register(0x0b);
    let bcd = status_b & 0x04 == 0;
    let conv = |v: u8| if bcd { (v & 0x0f) + (v >> 4) * 10 } else { v } as u64;
    let [sec, min, hour, day, month, year, century] = regs;
    let mut hour_v = conv(hour & 0x7f);
    if status_b & 0x02 == 0 && hour & 0x80 != 0 {
        hour_v = (hour_v % 12) + 12; // 12-hour mode, PM
    }
    let century = if century == 0 { 20 } else { conv(century) };
    let year = century * 100 + conv(year);
    days_from_civil(year as i64, conv(month) as i64, conv(day) as i64) as u64 * 86400
        + hour_v * 3600
        + conv(min) * 60
        + conv(sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
