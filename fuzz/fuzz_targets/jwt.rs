//! The JWT decoder and classifier: any bytes may sit where a token is expected (the engine
//! hands it whatever its `eyJ…` patterns matched, and the lifecycle decodes what it reads back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwarden::engine::jwt;

fuzz_target!(|data: &[u8]| {
    if let Some(token) = jwt::decode(data) {
        let _ = jwt::classify(&token);
        let facts = jwt::facts(&token, 1_800_000_000);
        if let Some(iss) = facts.issuer.as_deref() {
            let _ = jwt::keycloak_realm(iss);
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = jwt::keycloak_realm(s);
    }
});
