//! Writes the seed corpora of the fuzz targets (`fuzz/README.md`) into `fuzz/corpus/<target>/`.
//!
//! The seeds are the built-in rules' examples and negative examples (their templates expanded,
//! so every token is freshly minted and none is committed), the rule files themselves, and a
//! few files of each format the targets read. Run: `cargo run --example fuzz_seeds`.

use std::fs;
use std::path::{Path, PathBuf};

use tokenwarden::RuleSet;
use tokenwarden::report::baseline::Baseline;
use tokenwarden::rules::template;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let set = RuleSet::builtin()?;
    let mut texts = Vec::new();
    for rule in &set.rules {
        for ex in rule.examples.iter().chain(&rule.negative_examples) {
            texts.push(template::expand(ex)?);
        }
    }
    let jwt = template::expand(r#"{{jwt {"exp":"@now+1800","iat":"@now","sun":"alice"}}}"#)?;
    let tokens: Vec<String> = texts.iter().flat_map(|t| jwts(t)).collect();

    // engine_scan: first byte picks the path (see the target); every example under a few.
    let mut n = 0;
    for t in &texts {
        for sel in [0u8, 1, 3, 5] {
            seed(
                &root,
                "engine_scan",
                &mut n,
                &[&[sel][..], t.as_bytes()].concat(),
            )?;
        }
    }
    // jwt: every JWT the examples hold.
    let mut n = 0;
    for t in &tokens {
        seed(&root, "jwt", &mut n, t.as_bytes())?;
    }
    // token_files
    let mut n = 0;
    let at = template::expand("{{b64url 40}}")?;
    let rt = template::expand("{{b64url 48}}")?;
    let rec = format!(
        r#"{{"scope":"openid","access_token":"{at}","refresh_token":"{rt}","token_type":"Bearer","expires_at_seconds":1800000000,"resource_server":"auth.globus.org"}}"#
    );
    for doc in [
        format!(
            r#"{{"globus-sdk.version":"3.50.0","data":{{"DEFAULT":{{"auth.globus.org":{rec}}}}},"format_version":"2.0"}}"#
        ),
        format!(r#"{{"by_rs":{{"auth.globus.org":{rec}}}}}"#),
        format!(r#"{{"by_resource_server":{{"auth.globus.org":{rec}}}}}"#),
        format!(
            r#"{{"Credentials":{{"AccessKeyId":"ABCDEFGHIJKLMNOPQRST","SecretAccessKey":"{rt}","SessionToken":"{at}","EndpointURL":"https://rgw.example","Expiration":"2030-01-01T00:00:00Z"}}}}"#
        ),
        format!(
            "[default]\naws_access_key_id = ABCDEFGHIJKLMNOPQRST\naws_secret_access_key = {rt}\naws_session_token = {at}\n"
        ),
        format!(
            "[default]\naccess_key = ABCDEFGHIJKLMNOPQRST\nsecret_key = {rt}\nhost_base = rgw.example\n"
        ),
        format!("Authorization: Bearer {jwt}\n"),
        format!("X-SLURM-USER-TOKEN: {jwt}\n"),
        format!("export SLURM_JWT=\"{jwt}\"\n"),
        format!(r#"{{"access_token":"{jwt}","expires_at":1800000000}}"#),
    ] {
        // The first two bytes are the offset sts_parts is asked about.
        seed(&root, "token_files", &mut n, doc.as_bytes())?;
        seed(
            &root,
            "token_files",
            &mut n,
            &[&[40u8, 0][..], doc.as_bytes()].concat(),
        )?;
    }
    // cmdline: first byte picks the file kind (see the target).
    let mut n = 0;
    let files: [(u8, String); 10] = [
        (
            0,
            format!(
                "#!/bin/bash\ncurl -H \"Authorization: Bearer {jwt}\" https://s3m.example/api\n"
            ),
        ),
        (
            1,
            format!("#!/bin/bash\n#SBATCH -N 1\nexport SLURM_JWT={jwt}\nsrun hostname\n"),
        ),
        (
            2,
            format!("ls\nexport S3M_TOKEN={jwt}\ncurl -H \"Authorization: $S3M_TOKEN\" x\n"),
        ),
        (
            3,
            format!("all:\n\tcurl -H 'Authorization: Bearer {jwt}' $(URL)\n"),
        ),
        (
            4,
            format!("FROM debian\nENV SLURM_JWT={jwt}\nRUN curl -u user:{at} https://x\n"),
        ),
        (
            5,
            format!(
                r#"{{"cells":[{{"cell_type":"code","source":["!curl -H \"Authorization: Bearer {jwt}\" https://x\n","%%bash\n"]}}]}}"#
            ),
        ),
        (
            6,
            format!(
                "on: push\njobs:\n  a:\n    steps:\n      - run: |\n          curl -H \"Authorization: Bearer {jwt}\" https://x\n"
            ),
        ),
        (
            7,
            format!("job:\n  script:\n    - curl -H \"X-SLURM-USER-TOKEN: {jwt}\" https://x\n"),
        ),
        (
            8,
            format!(
                "import subprocess\nsubprocess.run([\"curl\", \"-H\", \"Authorization: Bearer {jwt}\"])\nos.system(\"scontrol token {at}\")\n"
            ),
        ),
        (
            9,
            format!(
                r#"{{"executable":"/bin/app","arguments":["--token","{jwt}"],"environment":{{"S3M_TOKEN":"{jwt}"}}}}"#
            ),
        ),
    ];
    for (sel, text) in &files {
        seed(
            &root,
            "cmdline",
            &mut n,
            &[&[*sel][..], text.as_bytes()].concat(),
        )?;
    }
    // rules_toml: the built-in rule files and a gitleaks config.
    let mut n = 0;
    for entry in fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))? {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "toml") {
            seed(&root, "rules_toml", &mut n, &fs::read(&p)?)?;
        }
    }
    let gitleaks = "title = \"x\"\n[[rules]]\nid = \"generic-api-key\"\ndescription = \"k\"\n\
                    regex = '''(?i)api[_-]?key\\s*=\\s*['\"]?([a-z0-9]{32})'''\nsecretGroup = 1\n\
                    keywords = [\"api\"]\nentropy = 3.5\n[[rules.allowlists]]\nregexes = ['''test''']\n\
                    [allowlist]\npaths = ['''vendor/''']\n";
    seed(&root, "rules_toml", &mut n, gitleaks.as_bytes())?;
    // baseline: an empty one and one with entries, both with the default key.
    let mut n = 0;
    let fp = tokenwarden::Fingerprinter::new(tokenwarden::secret::DEFAULT_FINGERPRINT_KEY);
    let empty = Baseline::of(&tokenwarden::ScanResult::default(), &fp);
    let text = serde_json::to_string_pretty(&empty)?;
    seed(&root, "baseline", &mut n, text.as_bytes())?;
    let full = text.replace(
        "\"findings\": []",
        "\"findings\": [{\"fingerprint\": \"tw1:0123456789abcdef\", \"rule_id\": \"slurm.jwt\"}]",
    );
    seed(&root, "baseline", &mut n, full.as_bytes())?;
    println!("seed corpora written under {}", root.display());
    Ok(())
}

/// The `eyJ…` JWTs in `text`.
fn jwts(text: &str) -> Vec<String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("eyJ") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !ok(c)).unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

fn seed(root: &Path, target: &str, n: &mut usize, bytes: &[u8]) -> std::io::Result<()> {
    let dir = root.join(target);
    fs::create_dir_all(&dir)?;
    *n += 1;
    fs::write(dir.join(format!("seed-{n:04}")), bytes)
}
