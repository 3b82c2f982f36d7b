//! Detection classes first seen on material we did not write (bench/results-realworld.md):
//! each test plants the shape that real repositories showed, with tokens minted at test time,
//! next to the real credential of the same shape that must still be found.

mod common;
use common::*;
use serde_json::Value;

/// (rule, severity, line) of every finding location, sorted.
fn hits(r: &Value) -> Vec<(String, String, u64)> {
    let mut v: Vec<(String, String, u64)> = findings(r)
        .iter()
        .flat_map(|f| {
            f["locations"].as_array().unwrap().iter().map(move |l| {
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                    l["line"].as_u64().unwrap(),
                )
            })
        })
        .collect();
    v.sort();
    v
}

/// Placeholders people write where a password or key goes (docs-csm: `password=mypass`,
/// `PWD_NAME`, `\$(cat …)` in a heredoc; Kingfisher's rules: `a1B2c3D4…`; gitleaks:
/// `AKIAXXXXXXXXXXXXXXXX`) are not findings; a real value on the next line is.
#[test]
fn placeholders_from_real_docs_are_not_findings() {
    let dir = tempfile::tempdir().unwrap();
    let real = mint("{{alnum 24}}");
    let text = format!(
        "curl -s -d grant_type=password -d client_id=shasta -d username=u -d password=mypass \\\n\
         https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token\n\
         curl -d grant_type=password -d password=PWD_NAME https://gw/keycloak/realms/shasta/protocol/openid-connect/token\n\
         cat <<EOF\ncurl -d grant_type=password -d password=\\$(cat /mnt/auth/password) https://gw/protocol/openid-connect/token\nEOF\n\
         key = AKIAXXXXXXXXXXXXXXXX\n\
         PALMETTO_API_KEY=a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0\n\
         curl -d grant_type=password -d password={real} https://gw/keycloak/realms/shasta/protocol/openid-connect/token\n"
    );
    write(dir.path(), "docs/token.md", &text);
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(
        hits(&r),
        vec![(
            "csm.keycloak_password_form".to_string(),
            "high".to_string(),
            9
        )],
        "{r:#}"
    );
}

/// A placeholder word inside a random token is chance, not a placeholder: a token whose
/// random characters spell "DUmMY" or "rEdAcTeD" is still found (one random JWT in 75 000
/// held such a run and was dropped).
#[test]
fn placeholder_words_inside_random_tokens_do_not_hide_them() {
    let dir = tempfile::tempdir().unwrap();
    let tok = format!("Ag{}DUmMY{}", mint("{{alnum 40}}"), mint("{{alnum 50}}"));
    let key = format!("{}rEdAcTeD{}", mint("{{alnum 20}}"), mint("{{alnum 20}}"));
    // A JWT whose signature part spells DUMMY: a token is judged by its claims.
    let base = mint(r#"{{jwt RS256 {"sub":"u","exp":"@now+600"}}}"#);
    let (head, _) = base.rsplit_once('.').unwrap();
    let jwt = format!(
        "{head}.{}DUMMY{}",
        mint("{{alnum 30}}"),
        mint("{{alnum 300}}")
    );
    write(
        dir.path(),
        "run.sh",
        format!("export ALCF_IRI_TOKEN={tok}\nexport PALMETTO_API_KEY={key}\ntoken=\"{jwt}\"\n"),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let ids: Vec<String> = hits(&r).into_iter().map(|h| h.0).collect();
    assert_eq!(
        ids,
        vec!["iri.token_env", "jwt.generic", "palmetto.api_key"],
        "{r:#}"
    );
}

/// globus-sdk's own docs: `globus_transfer_token = globus_transfer_data["access_token"]`
/// names a variable, not a token. In source code an unquoted identifier or expression on the
/// right is code; quoted, or in a shell script, the same characters are a literal.
#[test]
fn identifiers_and_expressions_on_the_right_are_code() {
    let dir = tempfile::tempdir().unwrap();
    let tok = mint("Ag{{alnum 90}}");
    write(
        dir.path(),
        "app.py",
        format!(
            "globus_transfer_token = globus_transfer_data[\"access_token\"]\n\
             GLOBUS_TRANSFER_TOKEN = read_token_from_store()\n\
             globus_access_token = transferAccessTokenValue\n\
             palmetto_api_key = settings.GLOBUS_CLIENT_SECRET\n\
             palmetto_api_key = self._session_token_value\n\
             GLOBUS_TRANSFER_TOKEN = \"{tok}\"\n"
        ),
    );
    write(
        dir.path(),
        "env.sh",
        "export PALMETTO_API_KEY=correct_horse_battery_staple\n",
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let got: Vec<(String, u64)> = findings(&r)
        .iter()
        .flat_map(|f| {
            f["locations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["path"].as_str().unwrap().to_string(),
                        l["line"].as_u64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(got.contains(&("app.py".to_string(), 6)), "{r:#}");
    assert!(got.contains(&("env.sh".to_string(), 1)), "{r:#}");
    assert!(
        !got.iter().any(|(p, l)| p == "app.py" && *l < 6),
        "code reported as a secret: {r:#}"
    );
}

/// gitleaks' own rule examples: `Authorization:<jwt>` (no Bearer) with nothing that says S3M
/// is a generic JWT, not an S3M token; the same header beside an S3M host is S3M.
#[test]
fn raw_authorization_jwt_is_s3m_only_with_s3m_context() {
    let dir = tempfile::tempdir().unwrap();
    let generic = mint(r#"{{jwt HS256 {"confidence":0.8}}}"#);
    let other = mint(r#"{{jwt RS256 {"sub":"svc","iat":"@now"}}}"#);
    write(
        dir.path(),
        "rules/curl.go",
        format!("`curl -L -H \"Authorization:{generic}\" service1.local`\n"),
    );
    write(
        dir.path(),
        "s3m/probe.sh",
        format!(
            "curl -H \"Authorization: {other}\" https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect\n"
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let by_path = |p: &str| -> Vec<String> {
        findings(&r)
            .iter()
            .filter(|f| f["locations"][0]["path"] == p)
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(by_path("rules/curl.go"), vec!["jwt.generic"], "{r:#}");
    assert_eq!(by_path("s3m/probe.sh"), vec!["s3m.authz_header"], "{r:#}");
}

/// Published values: the jwt.io demo token (by its claims, whatever key signed it) and the
/// values in rules/published.toml (the facilities' own documentation) are `info`
/// documentation examples; a fresh value in the same Markdown file is a finding.
#[test]
fn published_values_are_documentation_examples_and_fresh_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let demo = mint(r#"{{jwt HS256 {"sub":"1234567890","name":"John Doe","iat":1516239022}}}"#);
    let fresh = mint("{{alnum 16}}");
    write(
        dir.path(),
        "docs/streaming.rst",
        format!(
            "token = \"{demo}\"\n\
             \"amqpsUrl\": \"amqps://stf040-api:bMjHlJKjHQGbWrnO@rmq-stf040-api-mycluster.io.s3m-streams.apps.olivine.ccs.ornl.gov:443\",\n\
             \"amqpsUrl\": \"amqps://stf040-api:{fresh}@rmq-stf040-api-mine.io.s3m-streams.apps.olivine.ccs.ornl.gov:443\",\n\
             export CLIENT_SECRET=8a91fdf2-f9c5-4c7f-8da8-49cfbb97680a # admin-client openid-connect/token\n"
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let mut sev: Vec<(u64, String, bool)> = findings(&r)
        .iter()
        .map(|f| {
            (
                f["locations"][0]["line"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().to_string(),
                f["documentation_example"].is_string(),
            )
        })
        .collect();
    sev.sort();
    assert_eq!(
        sev,
        vec![
            (1, "info".to_string(), true),
            (2, "info".to_string(), true),
            (3, "high".to_string(), false),
            (4, "info".to_string(), true),
        ],
        "{r:#}"
    );
}

/// The facility is shown by the file, not the line (the detection benchmark's largest miss
/// class): a token assigned to a generic name is a Palmetto finding when the Palmetto host is
/// near (high confidence) or only elsewhere in the file (medium), and nothing without it.
#[test]
fn facility_context_from_the_file_not_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let near = mint("{{b64url 50}}");
    let far = mint("{{b64url 50}}");
    let none = mint("{{b64url 50}}");
    let filler = "# -\n".repeat(30);
    write(
        dir.path(),
        "src/jobs.ts",
        format!(
            "export const cfg = {{\n  token: '{near}',\n  baseURL: 'https://api.palmetto.clemson.edu/slurm/v0.0.44',\n}};\n"
        ),
    );
    write(
        dir.path(),
        "config.yaml",
        format!("api:\n  token: {far}\n{filler}base_url: https://api.palmetto.clemson.edu\n"),
    );
    write(dir.path(), "other.yaml", format!("api:\n  token: {none}\n"));
    let (_, r) = scan_json(dir.path(), &[]);
    let conf = |p: &str| -> Vec<(String, String)> {
        findings(&r)
            .iter()
            .filter(|f| f["locations"][0]["path"] == p)
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["confidence"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pc = |c: &str| vec![("palmetto.context_secret".to_string(), c.to_string())];
    assert_eq!(conf("src/jobs.ts"), pc("high"), "{r:#}");
    assert_eq!(conf("config.yaml"), pc("medium"), "{r:#}");
    assert!(conf("other.yaml").is_empty(), "{r:#}");
}

/// Tokens right after an escape or a URL encoding: a notebook's JSON string (`"\n<token>`),
/// `\u0022`, a query string (`access_token=Ag…&`), `Bearer%20`, a form body.
#[test]
fn tokens_after_escapes_and_url_encodings_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let ag: Vec<String> = (0..4).map(|_| mint("Ag{{alnum 91}}")).collect();
    let jwt = mint(r#"{{jwt RS256 {"sub":"u","exp":"@now+600"}}}"#);
    write(
        dir.path(),
        "explore.ipynb",
        format!(
            "{{\"cells\": [{{\"source\": [\"import globus_sdk\\n\", \"tok = \\\"\\n{}\\\"\\n\"]}}]}}\n",
            ag[0]
        ),
    );
    write(
        dir.path(),
        "access.log",
        format!(
            "GET /v2/endpoint_search?access_token={}&resource_server=transfer.api.globus.org 200\n\
             POST https://auth.globus.org/v2/oauth2/token body=grant_type=refresh_token&refresh_token={}&client_id=x\n\
             hdr Authorization: Bearer%20{} host api.alcf.anl.gov\n\
             payload {{\\u0022token\\u0022: \\u0022{jwt}\\u0022}}\n",
            ag[1], ag[2], ag[3]
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let got = places(&r);
    for want in [
        ("explore.ipynb", 1),
        ("access.log", 1),
        ("access.log", 2),
        ("access.log", 3),
        ("access.log", 4),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1)),
            "{want:?} missing: {r:#}"
        );
    }
}

/// (path, line) of every finding location, sorted.
fn places(r: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = findings(r)
        .iter()
        .flat_map(|f| {
            f["locations"].as_array().unwrap().iter().map(|l| {
                (
                    l["path"].as_str().unwrap().to_string(),
                    l["line"].as_u64().unwrap(),
                )
            })
        })
        .collect();
    v.sort();
    v
}

/// The finding whose secret sits at `path:line`.
fn at<'a>(r: &'a Value, path: &str, line: u64) -> &'a Value {
    findings(r)
        .iter()
        .find(|f| {
            f["locations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["path"] == path && l["line"] == line)
        })
        .unwrap_or_else(|| panic!("nothing at {path}:{line}: {r:#}"))
}

/// A pickle (protocol 4, Python's default) of `{"refresh_token": token}`: each string is
/// `\x8c`, a one-byte length, the bytes, `\x94`.
fn pickle(token: &str) -> Vec<u8> {
    let mut p = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00}\x94(".to_vec();
    for s in [
        "refresh_token",
        token,
        "resource_server",
        "transfer.api.globus.org",
    ] {
        p.push(0x8c);
        p.push(u8::try_from(s.len()).unwrap());
        p.extend_from_slice(s.as_bytes());
        p.push(0x94);
    }
    p.extend_from_slice(b"u.");
    p
}

/// Credentials that are encoded where they sit: a Kubernetes Secret's base64 `data:` (a CSM
/// client secret, a Slurm JWT), a key-pair CSV export with no name beside the values, a
/// pickled Globus session. Each is reported at its own line, saying how it was decoded; a
/// ConfigMap's base64 and a CSV without credential columns are not looked into.
#[test]
fn encoded_credentials_are_decoded_where_they_sit() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = tempfile::tempdir().unwrap();
    let client_secret = mint("{{uuid}}");
    let jwt = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"slurm"}}}"#);
    write(
        dir.path(),
        "k8s/admin-client-auth.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: admin-client-auth\ntype: Opaque\ndata:\n  \
             client-id: {}\n  client-secret: {}\n---\napiVersion: v1\nkind: Secret\ndata:\n  auth-token: {}\n",
            b64("admin-client"),
            b64(&client_secret),
            b64(&jwt)
        ),
    );
    let cm_value = mint("{{alnum 40}}");
    write(
        dir.path(),
        "k8s/config.yaml",
        format!(
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  secret_key: {}\n",
            b64(&cm_value)
        ),
    );
    let (id, secret) = (mint("{{upper 20}}"), mint("{{b64 40}}"));
    write(
        dir.path(),
        "exports/keys.csv",
        format!(
            "user,access_key,secret_key,endpoint\narchive,{id},{secret},http://rgw.hpc.example.edu:8080\n"
        ),
    );
    write(
        dir.path(),
        "exports/weather.csv",
        format!("station,reading\nx,{}\n", mint("{{b64 40}}")),
    );
    write(
        dir.path(),
        "data/session.pkl",
        pickle(&mint("Ag{{alnum 97}}")),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let got = places(&r);
    for (path, line) in [
        ("k8s/admin-client-auth.yaml", 8),
        ("k8s/admin-client-auth.yaml", 13),
        ("exports/keys.csv", 2),
        ("data/session.pkl", 1),
    ] {
        assert!(
            got.contains(&(path.to_string(), line)),
            "{path}:{line} missing: {r:#}"
        );
    }
    assert!(
        !got.iter()
            .any(|(p, _)| p.contains("config.yaml") || p.contains("weather")),
        "{r:#}"
    );
    let csm = at(&r, "k8s/admin-client-auth.yaml", 8);
    assert_eq!(csm["rule_id"], "keycloak.client_secret", "{csm:#}");
    assert_eq!(csm["decoded_from"], "base64 in a Kubernetes Secret");
    assert_eq!(
        at(&r, "k8s/admin-client-auth.yaml", 13)["rule_id"],
        "slurm.jwt"
    );
    assert_eq!(at(&r, "data/session.pkl", 1)["rule_id"], "globus.token");
    assert_eq!(
        at(&r, "exports/keys.csv", 2)["decoded_from"],
        "a CSV export's column"
    );
}

/// Credentials named by their command or their position rather than by an assignment:
/// `aws configure set`, `curl -u <client id>:<secret>` and a positional
/// `ConfidentialAppAuthClient` (quotes JSON-escaped in a notebook), the S3M management URL
/// and a URL-encoded broker URL, a notebook's escaped `password=\"…\"`, a Terraform
/// variable's default, and the admin-client secret pasted below the command that printed
/// it. Two Globus collection ids side by side are not a secret.
#[test]
fn credentials_named_by_command_or_position_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let v: Vec<String> = (0..8).map(|_| mint("{{b64 40}}")).collect();
    let (uuid1, uuid2) = (mint("{{uuid}}"), mint("{{uuid}}"));
    let pass16 = || mint("{{alnum 16}}");
    write(
        dir.path(),
        "home/.bash_history",
        format!(
            "aws configure set aws_secret_access_key {} --profile ceph\n\
             curl -s -u \"{uuid1}:{}\" https://auth.globus.org/v2/oauth2/token -d grant_type=client_credentials\n\
             globus transfer \"{uuid1}:/~/a\" \"{uuid2}:/~/b\"\n\
             kubectl -n services get secret admin-client-auth -o jsonpath='{{.data.client-secret}}' | base64 -d; echo\n\
             # -> {}\n",
            v[0],
            v[1],
            mint("{{uuid}}")
        ),
    );
    write(
        dir.path(),
        "nb/globus_demo.ipynb",
        format!(
            "{{\"cells\": [{{\"source\": [\"import globus_sdk\\n\", \"c = globus_sdk.ConfidentialAppAuthClient(\\n\",\n\
             \"    \\\"{uuid1}\\\", \\\"{}\\\")\\n\", \"tdata = globus_sdk.TransferData(tc, \\\"{uuid1}\\\", \\\"{uuid2}\\\")\\n\"]}}]}}\n",
            v[2]
        ),
    );
    write(
        dir.path(),
        "nb/stream.ipynb",
        format!(
            "{{\"source\": [\n\"r = redis.Redis(host=\\\"redis-stf040-api-c.io.s3m-streams.apps.olivine.ccs.ornl.gov\\\", port=443,\\n\",\n\
             \"    username=\\\"stf040-api\\\", password=\\\"{}\\\")\\n\"]}}\n",
            pass16()
        ),
    );
    write(
        dir.path(),
        "streaming/provision.json",
        format!(
            "{{\n  \"mgmtUrl\": \"https://stf040-api:{}@rmq-stf040-api-ens.mgmt.s3m-streams.apps.olivine.ccs.ornl.gov\"\n}}\n",
            pass16()
        ),
    );
    write(
        dir.path(),
        "logs/consumer.log",
        format!(
            "WARN retry url=amqps%3A%2F%2Fstf040-api%3A{}%40rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov%3A443\n",
            pass16()
        ),
    );
    write(
        dir.path(),
        "terraform/main.tf",
        format!(
            "variable \"keycloak_client_secret\" {{\n  type    = string\n  default = \"{}\"\n}}\n",
            mint("{{uuid}}")
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    let got = places(&r);
    for (path, line, rule) in [
        ("home/.bash_history", 1, "aws.secret_access_key"),
        ("home/.bash_history", 2, "globus.client_credentials"),
        ("home/.bash_history", 5, "csm.admin_client_secret_output"),
        ("nb/globus_demo.ipynb", 2, "globus.client_credentials"),
        ("nb/stream.ipynb", 3, "s3m.context_stream_password"),
        ("streaming/provision.json", 2, "s3m.stream_url"),
        ("logs/consumer.log", 1, "s3m.stream_url"),
        ("terraform/main.tf", 3, "csm.context_client_secret"),
    ] {
        assert!(
            got.contains(&(path.to_string(), line)),
            "{path}:{line} missing: {r:#}"
        );
        assert_eq!(at(&r, path, line)["rule_id"], rule, "{path}:{line}");
    }
    assert!(
        !got.contains(&("home/.bash_history".to_string(), 3)),
        "{r:#}"
    );
    assert_eq!(
        findings(&r)
            .iter()
            .filter(|f| f["rule_id"] == "globus.client_credentials")
            .count(),
        2,
        "the TransferData ids are not a secret: {r:#}"
    );
}

/// A pickled token committed and then deleted is found in history, with the commit that
/// added it.
#[test]
fn a_pickled_token_in_history_is_found_with_its_commit() {
    let r = common::repo::Repo::new();
    r.commit("README.md", "hello\n", "initial");
    write(&r.dir, "data/session.pkl", pickle(&mint("Ag{{alnum 97}}")));
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "cache session"]);
    let added = r.git(&["rev-parse", "HEAD"]);
    r.git(&["rm", "-q", "data/session.pkl"]);
    r.git(&["commit", "-qm", "remove cache"]);
    let out = tw()
        .arg("scan")
        .arg(&r.dir)
        .args(["--git", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = findings(&v)
        .iter()
        .find(|f| f["rule_id"] == "globus.token")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(
        f["history"]["introduced_by"]["commit"],
        added.as_str(),
        "{f:#}"
    );
}

/// Shapes a held-out corpus showed (bench/detection/holdout.py): dialects that name a value
/// without `=` (fish `set -gx`, `.netrc`, XML elements, Markdown tables), HTTP Basic
/// credentials, a Secret's binary `munge.key` entry, a typed constant, a key pair side by side
/// and a key backup; a key's hash under a key-like name is not the key.
#[test]
fn dialects_basic_auth_and_key_files_from_the_held_out_corpus() {
    use base64::Engine as _;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = tempfile::tempdir().unwrap();
    let palmetto = mint("{{alnum 40}}");
    write(
        dir.path(),
        "home/.config/fish/config.fish",
        format!(
            "# palmetto\nset -gx PALMETTO_API_KEY {palmetto}\nset -x AWS_SECRET_ACCESS_KEY {}\n",
            mint("{{upper 40}}")
        ),
    );
    write(
        dir.path(),
        "home/.netrc",
        format!(
            "machine api.palmetto.clemson.edu login u password {}\n",
            mint("{{alnum 32}}")
        ),
    );
    write(
        dir.path(),
        "java/broker.xml",
        format!(
            "<broker>\n  <host>rmq-stf040-api-x.io.s3m-streams.apps.olivine.ccs.ornl.gov</host>\n  <user>stf040</user>\n  <password>{}</password>\n</broker>\n",
            mint("{{alnum 16}}")
        ),
    );
    write(
        dir.path(),
        "notes/sts.md",
        format!(
            "From the rgw STS call:\n\n| field | value |\n|---|---|\n| SecretAccessKey | `{}` |\n",
            mint("{{upper 40}}")
        ),
    );
    let cid = mint("{{uuid}}");
    let basic = b64(format!("{cid}:{}", mint("{{b64 44}}")).as_bytes());
    write(
        dir.path(),
        "logs/curl-globus.log",
        format!(
            "> POST /v2/oauth2/token HTTP/2\n> Host: auth.globus.org\n> authorization: Basic {basic}\n"
        ),
    );
    let key: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    write(
        dir.path(),
        "k8s/slurm-secrets.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  munge.key: {}\n",
            b64(&key)
        ),
    );
    write(dir.path(), "ops/keys/munge.key.bak", &key);
    write(
        dir.path(),
        "src/config.rs",
        format!(
            "// palmetto gateway\npub const PALMETTO_API_KEY: &str = \"{}\";\n\
             pub const PALMETTO_API_KEY_SHA256: &str = \"{}\";\n\
             let creds = Credentials::new(\n    \"{}\",\n    \"{}\",\n    None,\n); // ceph rgw\n",
            mint("{{alnum 40}}"),
            mint("{{hex 64}}"),
            mint("{{upper 20}}"),
            mint("{{b64 40}}")
        ),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    for (path, line, rule) in [
        ("home/.config/fish/config.fish", 2, "palmetto.api_key"),
        ("home/.config/fish/config.fish", 3, "csm.sts_secret_key"),
        ("home/.netrc", 1, "palmetto.context_secret"),
        ("java/broker.xml", 4, "s3m.context_stream_password"),
        ("notes/sts.md", 5, "csm.sts_secret_key"),
        ("logs/curl-globus.log", 3, "globus.client_credentials"),
        ("k8s/slurm-secrets.yaml", 4, "munge.key_file"),
        ("src/config.rs", 2, "palmetto.context_secret"),
        ("src/config.rs", 6, "s3.key_pair_literal"),
    ] {
        assert_eq!(at(&r, path, line)["rule_id"], rule, "{path}:{line}: {r:#}");
    }
    // The backup holds the same key as the Secret: one finding, two places.
    let munge = at(&r, "k8s/slurm-secrets.yaml", 4);
    assert_eq!(munge["locations"].as_array().unwrap().len(), 2, "{munge:#}");
    assert!(
        !places(&r).contains(&("src/config.rs".to_string(), 3)),
        "a key's hash is not the key: {r:#}"
    );
}

/// A JWT whose signature is written as a placeholder (`….<signature>`, `….***`) shows the
/// token's shape in a how-to; the same header and claims with a real signature are a token.
#[test]
fn a_jwt_with_a_placeholder_signature_is_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = mint(r#"{{jwt {"exp":"@now+3600","iat":"@now","sun":"alice"}}}"#);
    let (unsigned, _) = jwt.rsplit_once('.').unwrap();
    write(
        dir.path(),
        "howto.sh",
        format!("SLURM_JWT={unsigned}.<signature>\nSLURM_JWT={unsigned}.***\nSLURM_JWT={jwt}\n"),
    );
    let (_, r) = scan_json(dir.path(), &[]);
    assert_eq!(places(&r), vec![("howto.sh".to_string(), 3)], "{r:#}");
}
