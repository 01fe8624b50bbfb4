#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| caseledger_fuzz::submission_json(data));
