//! Writes the seed corpus of the `submission_json` target: the JSON body a client would
//! post for every action sample of the format vectors. Run from `fuzz/`:
//! `cargo run --example json_seeds` (scripts/fuzz.sh does when the corpus is missing).

use proto_types::encoding::decode;
use proto_types::Submission;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        here.join("../proto-types/tests/data/format-vectors.json"),
    )?)?;
    let mut hexes = vec![vectors["submission_hex"].as_str().ok_or("submission_hex")?];
    for action in vectors["actions"].as_array().ok_or("actions")? {
        hexes.push(
            action["submission_hex"]
                .as_str()
                .ok_or("action submission_hex")?,
        );
    }
    let dir = here.join("corpus/submission_json");
    std::fs::create_dir_all(&dir)?;
    for (i, hex) in hexes.iter().enumerate() {
        let sub: Submission = decode(&hex_decode(hex)?)?;
        let json = serde_json::to_vec_pretty(&sub)?;
        std::fs::write(dir.join(format!("sample-{i:02}.json")), json)?;
    }
    println!("submission_json: {} seeds", hexes.len());
    Ok(())
}

fn hex_decode(hex: &str) -> Result<Vec<u8>, std::num::ParseIntError> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect()
}
