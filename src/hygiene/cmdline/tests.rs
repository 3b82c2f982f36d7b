use super::*;

/// Judges `tok_` strings and JWT-shaped strings secret.
struct Fake;
impl SecretJudge for Fake {
    fn is_secret(&self, v: &str) -> bool {
        v.contains("tok_") || v.starts_with("eyJ")
    }
}

fn checks(src: &str, ctx: Context) -> Vec<&'static str> {
    check_source(src, ctx, &Fake)
        .into_iter()
        .map(|f| f.check)
        .collect()
}

#[test]
fn commands_inside_substitutions_and_conditions_are_checked() {
    for src in [
        r#"TOKEN=$(curl -s -H "Authorization: Bearer ${ACCESS_TOKEN}" https://api-gw/apis/x)"#,
        r#"out=`curl -s -H "Authorization: $S3M_TOKEN" https://h/`"#,
        r#"if curl -sf -H "Authorization: Bearer $TOKEN" https://h/; then echo ok; fi"#,
        r#"[[ $(curl -s -H "X-SLURM-USER-TOKEN: $SLURM_JWT" http://c:6820/ping) ]] && echo up"#,
        r#"echo "$(jq -r .id <<< "$(curl -H "Authorization: $TOKEN" https://h/)")""#,
        r#"if [[ $(curl -iskH "Authorization: Bearer $TOKEN" https://api-gw/apis/sls/v1/liveness | head -1) != 204 ]]; then :; fi"#,
        r#"kubectl -n nexus exec -it "${pod}" -c nexus -- curl -i -sfk -u "${NEXUS_USERNAME}:${NEXUS_PASSWORD}" https://h/"#,
        r#"timeout 10 curl -H "Authorization: Bearer $TOKEN" https://h/"#,
        r#"retry 3 curl -H "Authorization: Bearer $TOKEN" https://h/"#,
        r#"out=$(update_bss_storage_run_cmd_verify_nonblank curl -s -k -d grant_type=client_credentials -d client_secret="$secret" https://h/token)"#,
    ] {
        let found = check_source(src, Context::Script, &Fake);
        assert_eq!(
            found.iter().map(|f| f.check).collect::<Vec<_>>(),
            ["hygiene.token_on_command_line"],
            "{src}"
        );
        assert!(
            found[0].offset < src.find("curl").unwrap_or(0),
            "placed at the word that holds it: {src}"
        );
    }
    // Palmetto's documented MUNGE form is info and its gateway is not a plain slurmrestd;
    // a MUNGE credential without a short TTL, in a substitution, is munge_without_ttl.
    let palmetto = check_source(
        r#"curl -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#,
        Context::Script,
        &Fake,
    );
    assert_eq!(
        palmetto
            .iter()
            .map(|f| (f.check, f.severity))
            .collect::<Vec<_>>(),
        [("hygiene.token_on_command_line", Severity::Info)]
    );
    let long = check_source(
        r#"curl -H "Authorization: MUNGE $(munge -n)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#,
        Context::Script,
        &Fake,
    );
    let mut checks: Vec<_> = long.iter().map(|f| (f.check, f.severity)).collect();
    checks.sort();
    assert_eq!(
        checks,
        [
            ("hygiene.munge_without_ttl", Severity::Low),
            ("hygiene.token_on_command_line", Severity::Medium)
        ]
    );
    // The header file the fix names fits the facility.
    let fix = |src: &str| check_source(src, Context::Script, &Fake)[0].fix.clone();
    assert!(fix(r#"curl -H "Authorization: Bearer $PALMETTO_API_KEY" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#).contains("@~/.palmetto-header"));
    assert!(fix(r#"curl -H "Authorization: Bearer $TOKEN" https://transfer.api.globus.org/v0.10/task_list"#).contains("@~/.globus-header"));
    assert!(
        fix(r#"curl -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/status"#)
            .contains("@~/.s3m-header")
    );
    assert!(
        !fix(r#"curl -H "Authorization: Bearer $TOKEN" https://example.org/x"#).contains("s3m")
    );
    // A substitution that reads a file is not a command line with a token.
    assert!(check_source("T=$(cat ~/.s3m/token)", Context::Script, &Fake).is_empty());
}

#[test]
fn tokens_on_curl_wget_httpie_and_grpcurl_command_lines() {
    for src in [
        r#"curl -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/status"#,
        r#"curl -s --header="Authorization: Bearer ${ACCESS_TOKEN}" https://api.alcf.anl.gov/api/v1/status"#,
        r#"curl -HAuthorization:$TOKEN https://h/"#,
        r#"curl -H "Authorization: $(cat ~/.s3m/token)" https://h/"#,
        r#"curl --oauth2-bearer "$GLOBUS_TOKEN" https://h/"#,
        r#"curl -u "admin:$KEYCLOAK_PASSWORD" https://h/"#,
        r#"curl "https://h/api?access_token=$TOKEN""#,
        r#"curl -H 'Authorization: eyJhbGciOi.x.y' https://h/"#,
        r#"sudo -u svc curl -H "X-SLURM-USER-TOKEN: $SLURM_JWT" http://localhost:6820/slurm/v0.0.40/ping"#,
        r#"wget --header="Authorization: $TOKEN" https://h/"#,
        r#"http GET https://h/ "Authorization:Bearer $IRI_TOKEN""#,
        r#"grpcurl -H "authorization: $TOKEN" h:443 svc/M"#,
        r#"X=1 /usr/bin/curl -H "Authorization: $S3M_TOKEN" https://h/ | jq ."#,
    ] {
        assert_eq!(
            checks(src, Context::Script),
            vec!["hygiene.token_on_command_line"],
            "{src}"
        );
    }
}

#[test]
fn headers_from_files_and_ordinary_arguments_stay_quiet() {
    for src in [
        "curl -H @.env https://s3m.olcf.ornl.gov/olcf/v1/status",
        "curl --header @/home/u/.s3m-header https://h/",
        "curl -H @- https://h/ <<< \"Authorization: $S3M_TOKEN\"",
        "curl -H 'Accept: application/json' -o \"$OUT\" https://h/$PATH_PART",
        "curl -K - https://h/",
        "wget -O out.json https://h/x",
        "token=$(cat ~/.s3m/token); python3 submit.py",
        "curl -H \"Content-Type: $CT\" https://h/",
        "export TOKEN_FILE=~/.s3m/token",
        "echo curl -H",
        "kubectl get secrets admin-client-auth -o jsonpath='{.data.client-secret}'",
        "timeout 10 curl -H @hdr https://h/",
    ] {
        assert_eq!(checks(src, Context::Script), Vec::<&str>::new(), "{src}");
    }
}

#[test]
fn the_fix_shows_the_command_rewritten_without_the_credential() {
    let f = &check_source(
        r#"curl -s -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/status"#,
        Context::Script,
        &Fake,
    )[0];
    assert!(
        f.fix.contains("curl -H @- -s https://s3m.olcf.ornl.gov/olcf/v1/status <<< \"Authorization: ${S3M_TOKEN}\""),
        "{}",
        f.fix
    );
    // Literal values are redacted in both message and fix.
    let f = &check_source(
        "curl -H 'Authorization: eyJhbGciOi.tok_x.y' https://h/",
        Context::History,
        &Fake,
    )[0];
    assert_eq!(f.severity, Severity::High);
    assert!(
        !f.message.contains("tok_") && !f.fix.contains("tok_"),
        "{f:?}"
    );
    // A literal inside a substitution is redacted too, and a substitution continued over
    // lines is shown on one.
    let f = &check_source(
        "curl -H \"Authorization: Bearer $(echo tok_9f8e | \\\n  base64 -d)\" https://h/",
        Context::Script,
        &Fake,
    )[0];
    assert!(!f.message.contains("tok_9f8e"), "{}", f.message);
    assert!(!f.message.contains('\n'), "{}", f.message);
}

#[test]
fn exports_batch_scripts_munge_and_slurmrestd_auth() {
    assert_eq!(
        checks("export S3M_TOKEN=eyJhbGciOi.x.y", Context::History),
        vec!["hygiene.token_exported"]
    );
    assert_eq!(
        checks("export S3M_TOKEN=$(cat ~/.tok)", Context::Script),
        Vec::<&str>::new()
    );
    assert_eq!(
        checks(
            "#!/bin/bash\n#SBATCH -N 1\nexport SLURM_JWT=$(scontrol token | cut -d= -f2)\nsrun ./a.out",
            Context::BatchScript
        ),
        vec!["hygiene.slurm_jwt_in_job_environment"]
    );
    assert_eq!(
        checks("sbatch --export=ALL,SLURM_JWT job.sh", Context::Script),
        vec!["hygiene.slurm_jwt_in_job_environment"]
    );
    assert_eq!(
        checks("munge -n | curl -H @- https://h/", Context::Script),
        vec!["hygiene.munge_without_ttl"]
    );
    assert_eq!(checks("munge -n -t 5", Context::Script), Vec::<&str>::new());
    // MUNGE's own round trip hands the credential to nothing but the decoder.
    assert_eq!(
        checks("munge -n | unmunge", Context::History),
        Vec::<&str>::new()
    );
    assert_eq!(
        checks("munge -n || unmunge x", Context::Script),
        vec!["hygiene.munge_without_ttl"]
    );
    assert_eq!(
        checks(
            r#"curl -H "Authorization: $SLURM_JWT" http://c:6820/slurm/v0.0.41/jobs"#,
            Context::Script
        ),
        vec![
            "hygiene.token_on_command_line",
            "hygiene.slurmrestd_non_bearer_auth"
        ]
    );
}

#[test]
fn credentials_under_a_credential_key_in_request_data() {
    for src in [
        r#"curl -s -d client_id=admin-client -d client_secret=$(kubectl get secrets admin-client-auth -o jsonpath='{.data.client-secret}' | base64 -d) https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token"#,
        r#"curl -d "grant_type=password&password=$PW" https://h/token"#,
        r#"curl --data-urlencode "client_secret=${CS}" https://auth.globus.org/v2/oauth2/token"#,
        r#"curl -d "{\"token\": \"$(vault kv get -field=t kv/s3m)\"}" https://h/"#,
    ] {
        assert_eq!(
            checks(src, Context::Script),
            vec!["hygiene.token_on_command_line"],
            "{src}"
        );
    }
    for src in [
        "curl -d grant_type=client_credentials -d scope=openid https://h/token",
        r#"curl -d "user=$USER&host=$(hostname)" https://h/"#,
        r#"curl -d @request.json https://h/"#,
        r#"curl -d "name=$(cat VERSION)" https://h/"#,
    ] {
        assert_eq!(checks(src, Context::Script), Vec::<&str>::new(), "{src}");
    }
}

#[test]
fn secrets_given_to_s3_clients_on_their_command_lines() {
    let found = |src: &str, ctx| {
        check_source(src, ctx, &Fake)
            .into_iter()
            .map(|f| (f.check, f.severity))
            .collect::<Vec<_>>()
    };
    let high = vec![("hygiene.token_on_command_line", Severity::High)];
    let medium = vec![("hygiene.token_on_command_line", Severity::Medium)];
    for (src, want) in [
        ("aws configure set aws_secret_access_key tok_9f8e7d", &high),
        (
            "aws configure set profile.ceph.aws_session_token \"$AWS_SESSION_TOKEN\"",
            &medium,
        ),
        ("s3cmd --secret_key=tok_9f8e7d ls s3://b", &high),
        (
            "s3cmd --access_key=AK --secret_key \"$SECRET_KEY\" ls",
            &medium,
        ),
        (
            "rclone config create ceph s3 provider Ceph access_key_id AK secret_access_key tok_9f8e7d endpoint https://rgw",
            &high,
        ),
        (
            "rclone config create ceph s3 secret_access_key=tok_9f8e7d",
            &high,
        ),
        (
            "rclone lsd ceph: --s3-secret-access-key $S3_SECRET",
            &medium,
        ),
        ("mc alias set ceph https://rgw.example AK tok_9f8e7d", &high),
        (
            "mc config host add ceph https://rgw.example AK $MC_SECRET",
            &medium,
        ),
        (
            "redis-cli -u rediss://app:tok_9f8e7d@cache.example.org:6380 ping",
            &high,
        ),
        ("redis-cli -a \"$PW\" -h redis-stf040 ping", &medium),
    ] {
        assert_eq!(&found(src, Context::Script), want, "{src}");
    }
    // Typed into a shell, even an expansion is high: history keeps the command.
    assert_eq!(
        found("s3cmd --secret_key=$SECRET_KEY ls", Context::History),
        high
    );
    for src in [
        "aws configure set region us-east-1",
        "aws configure set aws_secret_access_key",
        "aws s3 ls s3://bucket --profile ceph",
        "s3cmd -c ~/.s3cfg ls s3://b",
        "rclone copy ceph:bucket/a ./a",
        "rclone config create ceph s3 env_auth true",
        "mc alias set ceph https://rgw.example",
        "mc alias set play https://play.min.io minioadmin minioadmin",
        "redis-cli -u rediss://cache.example.org:6380 ping",
        "redis-cli -h localhost ping",
    ] {
        assert_eq!(found(src, Context::Script), vec![], "{src}");
    }
    // The secret is redacted in what the finding says.
    let f = &check_source("s3cmd --secret_key=tok_9f8e7d ls", Context::Script, &Fake)[0];
    assert!(!f.message.contains("tok_9f8e7d"), "{}", f.message);
}

#[test]
fn only_the_commands_around_a_command_word_are_lexed_in_a_file_without_secrets() {
    let script = "#!/bin/sh\nset -e\necho 'it'\\''s'\nfor f in *; do\n  echo \"$f\"\ndone\nX=1 \\\n  curl -H \"Authorization: Bearer $TOKEN\" \\\n  https://h/\ncurl -d '{\n  \"a\": 1\n}' https://h/\ntrue\n";
    let regions: Vec<&str> = command_regions(script)
        .into_iter()
        .map(|(s, e)| &script[s..e])
        .collect();
    assert_eq!(
        regions,
        [
            "X=1 \\\n  curl -H \"Authorization: Bearer $TOKEN\" \\\n  https://h/\ncurl -d '{\n  \"a\": 1\n}' https://h/"
        ]
    );
    // Lexed by regions or whole, the same findings, on the same lines.
    struct Blind;
    impl SecretJudge for Blind {
        fn is_secret(&self, _: &str) -> bool {
            false
        }
        fn knows_secrets(&self) -> bool {
            false
        }
    }
    let by_regions: Vec<_> = check_file(FileKind::Shell, script, &Blind)
        .into_iter()
        .map(|p| (p.finding.check, p.line))
        .collect();
    let whole: Vec<_> = check_file(FileKind::Shell, script, &Fake)
        .into_iter()
        .map(|p| (p.finding.check, p.line))
        .collect();
    assert_eq!(by_regions, [("hygiene.token_on_command_line", Some(7))]);
    assert_eq!(by_regions, whole);
    assert!(!open_quote(b"echo 'a' \"b\" # it's"));
    assert!(open_quote(b"curl -d '{"));
}

#[test]
fn files_without_a_known_command_need_no_lexing() {
    assert!(may_hold_commands(b"#!/bin/sh\ncurl -s https://h/\n"));
    assert!(may_hold_commands(b"http GET https://h/ Authorization:$T\n"));
    assert!(may_hold_commands(b"#SBATCH -N 1\nexport SLURM_JWT=x\n"));
    assert!(may_hold_commands(b"xh :8080/api Authorization:$T\n"));
    assert!(may_hold_commands(b"X=$(munge -n)\n"));
    for quiet in [
        &b"#!/bin/sh\ntest_expect_success 'x' 'git log >out'\n# see https://git-scm.com\n"[..],
        b"Fetch over http or https from the server.\n",
        b"Do not munge the message.\n",
    ] {
        assert!(
            !may_hold_commands(quiet),
            "{}",
            String::from_utf8_lossy(quiet)
        );
    }
}

/// What a held-out corpus written by someone who never read this file taught: each form
/// it used that the checks missed, or took for a leak.
#[test]
fn forms_from_the_blind_hygiene_corpus() {
    for (name, want) in [
        ("S3M_TOKEN", true),
        ("GHTOKEN", true),
        ("AUTH_HEADER", true),
        ("X_AUTH", true),
        ("GLOBUS_CLIENT_SECRET", true),
        ("TOKENIZERS_PARALLELISM", false),
        ("MAX_TOKENS", false),
        ("AUTHOR", false),
        ("TOKEN_FILE", false),
    ] {
        assert_eq!(token_variable(name), want, "{name}");
    }
    let sev = |src: &str, ctx| {
        check_source(src, ctx, &Fake)
            .into_iter()
            .map(|f| (f.check, f.severity))
            .collect::<Vec<_>>()
    };
    // Bundled munge flags: `-nt 5` is Palmetto's five-second credential.
    assert_eq!(
        sev(
            r#"curl -H "Authorization: MUNGE $(munge -nt 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"#,
            Context::History
        ),
        [("hygiene.token_on_command_line", Severity::Info)]
    );
    assert_eq!(sev("munge -nt5", Context::Script), []);
    assert_eq!(
        sev("munge -n > cred", Context::Script),
        [("hygiene.munge_without_ttl", Severity::Low)]
    );
    // csh, curl.exe, a password from a substitution after `user:`, keys given to mc.
    assert_eq!(
        sev("setenv S3M_TOKEN eyJhbGciOi.x.y", Context::History),
        [("hygiene.token_exported", Severity::High)]
    );
    assert_eq!(sev("setenv EDITOR vim", Context::History), []);
    assert_eq!(
        sev(
            r#"curl.exe -H "Authorization: Bearer ${PALMETTO_API_KEY}" https://h/"#,
            Context::Script
        ),
        [("hygiene.token_on_command_line", Severity::Medium)]
    );
    assert_eq!(
        sev(
            r#"curl -k -u "root:$(cat /root/.bmc_pw)" https://bmc/redfish/v1"#,
            Context::Script
        ),
        [("hygiene.token_on_command_line", Severity::Medium)]
    );
    assert_eq!(sev(r#"curl -u "$USER" https://h/"#, Context::Script), []);
    assert_eq!(
        sev(
            "mc alias set rgw https://rgw.example AKIA7QX2M4N8P1R3 9sKq2Lm4Np6Rt8Vx0Zb3Cd5Fg7Hj",
            Context::History
        ),
        [("hygiene.token_on_command_line", Severity::High)]
    );
    assert_eq!(
        sev(
            "mc alias set rgw https://rgw.example YOUR-ACCESS-KEY YOUR-SECRET-KEY-HERE",
            Context::History
        ),
        []
    );
    // A multi-line command in history is one entry, placed on its first line.
    assert_eq!(
        check_file(
            FileKind::History,
            ": 1774582870:2;curl -sS -X POST https://api.alcf.anl.gov/x \\\n  -H \"Authorization: Bearer $ALCF_TOKEN\" \\\n  -d @job.json\nls\n",
            &Fake
        )
        .into_iter()
        .map(|p| (p.finding.check, p.line))
        .collect::<Vec<_>>(),
        [("hygiene.token_on_command_line", Some(1))]
    );
    for shell in [".cshrc", ".envrc", ".tcshrc"] {
        assert_eq!(file_kind(shell, b""), Some(FileKind::Shell), "{shell}");
    }
    // Settings named like credentials are not credentials in an image.
    assert!(check_docker_env("ENV", "CRAY_CREDENTIALS=/tmp/setup-token.json", &Fake).is_none());
    assert!(check_docker_env("ENV", "TOKENIZERS_PARALLELISM=false", &Fake).is_none());
    assert!(check_docker_env("ENV", "MAX_TOKENS=4096", &Fake).is_none());
    assert!(check_docker_env("ENV", "API_TOKEN=9f8e7d6c5b4a", &Fake).is_some());
}

#[test]
fn a_header_held_in_a_variable_the_file_assigns() {
    struct Knows(Vec<String>);
    impl SecretJudge for Knows {
        fn is_secret(&self, _: &str) -> bool {
            false
        }
        fn holds_credential_header(&self, var: &str) -> bool {
            self.0.iter().any(|v| v == var)
        }
    }
    let script = "#!/bin/bash\nhdr=\"Authorization: MUNGE $(munge --no-input)\"\nct='Content-Type: application/json'\ncurl -sf -H \"$hdr\" -H \"$ct\" \"$API/nodes\"\n";
    let vars = credential_header_variables(script.as_bytes());
    assert_eq!(vars, ["hdr"]);
    let found: Vec<_> = check_source(script, Context::Script, &Knows(vars))
        .into_iter()
        .map(|f| f.check)
        .collect();
    assert!(
        found.contains(&"hygiene.token_on_command_line"),
        "{found:?}"
    );
    assert!(
        check_source(script, Context::Script, &Knows(Vec::new()))
            .iter()
            .all(|f| f.check != "hygiene.token_on_command_line")
    );
}

#[test]
fn dockerfile_env_and_arg() {
    assert!(check_docker_env("ENV", "S3M_TOKEN=eyJhbGciOi.x.y", &Fake).is_some());
    assert!(check_docker_env("ARG", "GLOBUS_CLIENT_SECRET", &Fake).is_some());
    assert!(check_docker_env("ENV", "PATH=/usr/local/bin:$PATH", &Fake).is_none());
    assert!(check_docker_env("ENV", "TOKEN_FILE=/run/secrets/token", &Fake).is_none());
}
