//! The S3M contract server's test controls (`tests/peers/s3m-contract/`): mint tokens,
//! inject faults, read the request log (credentials there are fingerprints).
#![allow(dead_code)]

use super::peers::{PeerEnv, var};
use serde_json::{Value, json};

/// POSTs to a control route; its JSON answer.
pub fn control(env: &PeerEnv, what: &str, body: Value) -> Value {
    let url = format!("{}/{what}", var(env, "S3M_CONTRACT_CONTROL"));
    reqwest::blocking::Client::new()
        .post(url)
        .json(&body)
        .send()
        .expect("contract control reachable")
        .json()
        .expect("control answer is JSON")
}

/// The faults the contract still holds, each with the `times` it has left.
pub fn faults(env: &PeerEnv) -> Vec<Value> {
    let url = format!("{}/faults", var(env, "S3M_CONTRACT_CONTROL"));
    let v: Value = reqwest::blocking::get(url)
        .expect("contract control reachable")
        .json()
        .expect("control answer is JSON");
    v["faults"].as_array().cloned().unwrap_or_default()
}

/// A fresh token with these permissions: (token, fingerprint in the request log).
pub fn mint(env: &PeerEnv, permissions: &[&str], enclave: &str) -> (String, String) {
    let v = control(
        env,
        "tokens",
        json!({"permissions": permissions, "enclave": enclave}),
    );
    (
        v["token"].as_str().unwrap().to_string(),
        v["fingerprint"].as_str().unwrap().to_string(),
    )
}

pub fn fault(env: &PeerEnv, spec: Value) {
    control(env, "faults", spec);
}

/// The request log records sent with this fingerprint (or, with `None`, every record).
pub fn requests(env: &PeerEnv, fp: Option<&str>) -> Vec<Value> {
    let text = std::fs::read_to_string(var(env, "S3M_CONTRACT_REQUEST_LOG")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| fp.is_none_or(|fp| r["auth_fp"] == fp))
        .collect()
}
