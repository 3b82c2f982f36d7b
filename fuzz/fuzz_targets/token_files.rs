//! The token file readers: globus-sdk `tokens.json` (v1, v2 and the shell layout), the CSM STS
//! answer (and the AWS/s3cmd files written from it, read back by `sts_parts`), the client's
//! header-style credential files, batch scripts' `#SBATCH` lines, and the credential-file
//! classifier. Each reads files a user or a repository controls, so each must answer any bytes
//! with a value or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tokenwarden::facilities::{credential, csm, globus, slurm};
use tokenwarden::credential_files as files;
use tokenwarden::lifecycle::issuer as kind;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut file) = globus::TokenFile::parse(Path::new("tokens.json"), data) {
        // What `login`, `logout` and the lifecycle do with a file they read: list, get,
        // write back and remove each resource server's tokens.
        for rs in file.resource_servers() {
            if let Some(rec) = file.get(&rs) {
                file.set(&rec);
            }
            file.remove(&rs);
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = csm::StsCredentials::from_answer(&v);
    }
    // The offset of a secret key the engine found: anywhere, including past the end.
    if data.len() >= 2 {
        let offset = u16::from_le_bytes([data[0], data[1]]) as usize;
        let _ = kind::sts_parts(&data[2..], offset);
    }
    let _ = kind::sts_parts(data, usize::MAX);
    let text = String::from_utf8_lossy(data);
    let _ = credential::parse_credential_file(&text);
    // A batch script's #SBATCH lines (`slurm submit`, `submit-sweep`), and the body built
    // from them.
    if let Ok(mut job) = slurm::JobRequest::from_script(&text) {
        job.cwd.get_or_insert_with(|| "/tmp".into());
        let _ = job.payload(slurm::ApiVersion::V(38));
        let _ = job.payload(slurm::ApiVersion::V(42));
    }
    // The input as a path (the classifier sees every name a walk meets) and as a file head.
    let _ = files::classify(&text, Some(data));
    let _ = files::classify("home/u/.ssh/id_ed25519.pem", Some(data));
    let _ = files::may_be_credential(data);
});
