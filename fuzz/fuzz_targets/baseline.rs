//! The baseline reader: a baseline file is committed to the repository being scanned, so its
//! bytes are untrusted. Whatever parses must also apply to a scan result without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwarden::report::baseline::Baseline;
use tokenwarden::{Fingerprinter, ScanResult};

fuzz_target!(|data: &[u8]| {
    let fp = Fingerprinter::new(tokenwarden::secret::DEFAULT_FINGERPRINT_KEY);
    if let Ok(b) = Baseline::parse("baseline.json", data, &fp) {
        let mut result = ScanResult::default();
        let _ = b.apply(&mut result);
    }
});
