//! IRI job specifications in JSON that carry a credential in their environment or arguments.

use super::*;

/// IRI job specifications (objects with `executable` and `environment` or `arguments`) that
/// carry a credential: the API stores both and returns them with the job (`GET …/compute/job`),
/// so everyone who can list the project's jobs reads them.
pub(super) fn job_specs(v: &serde_json::Value, judge: &dyn SecretJudge) -> Vec<CmdFinding> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        match x {
            serde_json::Value::Object(m) => {
                if m.contains_key("executable") {
                    let mut what = Vec::new();
                    if let Some(env) = m.get("environment").and_then(|e| e.as_object()) {
                        for (k, val) in env {
                            let s = val.as_str().unwrap_or("");
                            if judge.is_secret(s) || (token_variable(k) && !s.is_empty()) {
                                what.push(format!("environment {k}"));
                            }
                        }
                    }
                    if let Some(args) = m.get("arguments").and_then(|a| a.as_array()) {
                        for (i, a) in args.iter().enumerate() {
                            let s = a.as_str().unwrap_or("");
                            let expands = commands(s)
                                .iter()
                                .flat_map(|c| &c.words)
                                .flat_map(|w| &w.parts)
                                .any(|p| matches!(p, Part::Var(n) if token_variable(n)));
                            if judge.is_secret(s) || expands {
                                what.push(format!("arguments[{i}]"));
                            }
                        }
                    }
                    if !what.is_empty() {
                        out.push(CmdFinding {
                            check: "hygiene.token_in_job_spec",
                            severity: Severity::High,
                            offset: 0,
                            message: format!(
                                "a job specification passes a credential in {}: the IRI API keeps the job's environment and arguments and returns them to anyone who lists the project's jobs",
                                what.join(", ")
                            ),
                            fix: "have the job read the credential from a 0600 file on the facility's filesystem (or the facility's secret store) instead of passing it in the job specification".into(),
                        });
                    }
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl SecretJudge for Fake {
        fn is_secret(&self, v: &str) -> bool {
            v.starts_with("eyJ")
        }
    }

    #[test]
    fn iri_job_specs_with_credentials_in_environment_or_arguments() {
        let found = |v: serde_json::Value| job_specs(&v, &Fake).len();
        assert_eq!(
            found(serde_json::json!({"executable": "/bin/app", "environment": {"S3M_TOKEN": "x"}})),
            1
        );
        assert_eq!(
            found(
                serde_json::json!({"job": {"executable": "a", "arguments": ["--token", "eyJhbGc.x.y"]}})
            ),
            1
        );
        assert_eq!(
            found(serde_json::json!({"executable": "a", "arguments": ["--auth=$IRI_TOKEN"]})),
            1
        );
        assert_eq!(
            found(
                serde_json::json!({"executable": "a", "environment": {"OMP_NUM_THREADS": "4"}, "arguments": ["-n", "4"]})
            ),
            0
        );
        assert_eq!(
            found(serde_json::json!({"environment": {"S3M_TOKEN": "x"}})),
            0
        );
    }
}
