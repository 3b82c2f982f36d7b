use super::*;

struct Fake;
impl SecretJudge for Fake {
    fn is_secret(&self, v: &str) -> bool {
        v.starts_with("eyJ")
    }
}

fn found(kind: FileKind, text: &str) -> Vec<(&'static str, Option<u64>, Option<String>)> {
    check_file(kind, text, &Fake)
        .into_iter()
        .map(|p| (p.finding.check, p.line, p.place))
        .collect()
}

#[test]
fn file_kinds() {
    assert_eq!(file_kind("job.sbatch", b""), Some(FileKind::Shell));
    assert_eq!(
        file_kind("run", b"#!/usr/bin/env bash"),
        Some(FileKind::Shell)
    );
    assert_eq!(file_kind("run", b"#!/usr/bin/python3"), None);
    assert_eq!(file_kind(".zsh_history", b""), Some(FileKind::History));
    assert_eq!(file_kind("GNUmakefile", b""), Some(FileKind::Makefile));
    assert_eq!(file_kind("Dockerfile.gpu", b""), Some(FileKind::Dockerfile));
    assert_eq!(file_kind("a.ipynb", b""), Some(FileKind::Notebook));
    assert_eq!(file_kind("a.py", b""), Some(FileKind::Python));
    assert_eq!(file_kind("a.pyc", b""), None);
    assert_eq!(
        file_kind(".github/workflows/ci.yml", b""),
        Some(FileKind::CiYaml)
    );
    assert_eq!(
        file_kind("ci/deploy.gitlab-ci.yml", b""),
        Some(FileKind::CiYaml)
    );
    assert_eq!(file_kind("config/app.yml", b""), None);
}

/// (The exec form of RUN has no shell: `$TOKEN` there stays literal text, not a leak.)
#[test]
fn lines_in_scripts_histories_makefiles_and_dockerfiles() {
    assert_eq!(
        found(
            FileKind::Shell,
            "#!/bin/sh\n\ncurl -H \"Authorization: $S3M_TOKEN\" \\\n  https://h/\n"
        ),
        vec![("hygiene.token_on_command_line", Some(3), None)]
    );
    assert_eq!(
        found(
            FileKind::History,
            "ls\n: 1700000000:0;curl -H \"Authorization: $TOKEN\" https://h/\n"
        ),
        vec![("hygiene.token_on_command_line", Some(2), None)]
    );
    assert_eq!(
        found(
            FileKind::Makefile,
            "status:\n\t@curl -s -H \"Authorization: $(S3M_TOKEN)\" \\\n\t  https://h/\nok:\n\tcurl -H @.env https://h/\n"
        ),
        vec![("hygiene.token_on_command_line", Some(2), None)]
    );
    assert_eq!(
        found(
            FileKind::Dockerfile,
            "FROM debian\nARG S3M_TOKEN\nRUN --mount=type=cache,target=/x curl -H \"Authorization: $S3M_TOKEN\" https://h/\nRUN [\"curl\", \"-H\", \"Authorization: eyJhbGc.x.y\", \"https://h/\"]\nRUN [\"curl\", \"-H\", \"Authorization: $TOKEN\", \"https://h/\"]\nENV PATH=/x:$PATH\n"
        ),
        vec![
            ("hygiene.secret_in_image", Some(2), None),
            ("hygiene.token_on_command_line", Some(3), None),
            ("hygiene.token_on_command_line", Some(4), None),
        ]
    );
}

#[test]
fn github_and_gitlab_ci_scripts() {
    let gh = "on: push\njobs:\n  s:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - name: status\n        run: |\n          echo hi\n          curl -H \"Authorization: ${{ secrets.S3M_TOKEN }}\" https://h/\n      - run: curl -H @header.txt https://h/\n      - run: curl -u \"me:${{ env.API_PASSWORD }}\" https://h/\n";
    assert_eq!(
        found(FileKind::CiYaml, gh),
        vec![
            ("hygiene.token_on_command_line", Some(10), None),
            ("hygiene.token_on_command_line", Some(12), None),
        ]
    );
    // A script line with `: ` in it, unquoted: YAML reads a mapping, a reader a command.
    assert_eq!(
        found(
            FileKind::CiYaml,
            "smoke:\n  script:\n    - echo start\n    - curl -sf -H \"Authorization: Bearer $IRI_API_TOKEN\" https://api.alcf.anl.gov/api/v1/facility\n"
        ),
        vec![("hygiene.token_on_command_line", Some(4), None)]
    );
    // A workflow YAML refuses (a `: ` in a plain scalar) is still read, line by line.
    assert_eq!(
        found(
            FileKind::CiYaml,
            "jobs:\n  a:\n    steps:\n      - run: echo ok\n      - run: curl -sS -H \"Authorization: ${{ secrets.S3M_TOKEN }}\" https://h/\n      - run: curl -H @h https://h/\n"
        ),
        vec![("hygiene.token_on_command_line", Some(5), None)]
    );
    let gl = "stages: [t]\njob:\n  before_script:\n    - export X=1\n  script:\n    - echo ok\n    - >\n      curl --header \"PRIVATE-TOKEN: $DEPLOY_TOKEN\" https://h/\n    - - curl --oauth2-bearer $IRI_TOKEN https://h/\nvariables:\n  script: not a script key here\n";
    assert_eq!(
        found(FileKind::CiYaml, gl),
        vec![
            ("hygiene.token_on_command_line", Some(8), None),
            ("hygiene.token_on_command_line", Some(9), None),
        ]
    );
    assert!(found(FileKind::CiYaml, "a: [unclosed").is_empty());
}

#[test]
fn documentation_that_teaches_a_token_on_a_command_line_is_one_info_per_file() {
    let md = "# Status\n\n```bash\n$ curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/status\n$ curl -H \"Authorization: $S3M_TOKEN\" https://s3m.olcf.ornl.gov/olcf/v1/tokens\n```\n";
    let kind = file_kind("docs/s3m.md", md.as_bytes()).expect("docs");
    let placed = check_file(kind, md, &Fake);
    assert_eq!(
        placed
            .iter()
            .map(|p| (p.finding.check, p.finding.severity, p.line))
            .collect::<Vec<_>>(),
        [(
            "hygiene.docs_teach_token_on_command_line",
            Severity::Info,
            Some(4)
        )]
    );
    assert!(placed[0].finding.message.contains("1 more"));
    assert!(placed[0].finding.fix.contains("@~/.s3m-header"));
    // The safe forms, and Palmetto's short-lived MUNGE credential, teach nothing wrong.
    for quiet in [
        "```\ncurl -H @~/.s3m-header https://s3m.olcf.ornl.gov/olcf/v1/status\n```\n",
        "```bash\ncurl -H \"Authorization: MUNGE $(munge -n -t 5)\" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs\n```\n",
        "Run `curl -H \"Authorization: $TOKEN\" https://h/` inline: not a block.\n",
    ] {
        assert!(check_file(kind, quiet, &Fake).is_empty(), "{quiet}");
    }
}

#[test]
fn batch_directives_and_windows_batch_files() {
    assert_eq!(
        found(
            FileKind::Shell,
            "#!/bin/bash\n#SBATCH --array=1-100\n#SBATCH --export=ALL,SLURM_JWT=eyJhbGc.x.y\nsrun ./task\n"
        ),
        vec![("hygiene.slurm_jwt_in_job_environment", Some(3), None)]
    );
    assert!(
        found(
            FileKind::Shell,
            "#!/bin/bash\n#SBATCH --export=NONE\nsrun ./task\n"
        )
        .is_empty()
    );
    assert_eq!(
        file_kind("windows/deploy.BAT", b"@echo off"),
        Some(FileKind::Batch)
    );
    assert_eq!(
        found(
            FileKind::Batch,
            "@echo off\r\nset PALMETTO_API_KEY=x\r\ncurl -H \"Authorization: Bearer %PALMETTO_API_KEY%\" https://api.palmetto.clemson.edu/ping\r\nrem curl -H \"Authorization: %TOKEN%\" https://h/\r\nexit /b 0\r\n"
        ),
        vec![("hygiene.token_on_command_line", Some(3), None)]
    );
    assert_eq!(batch_to_shell("echo 100% done !x"), "echo 100% done !x");
}

#[test]
fn kubernetes_argo_and_tekton_manifests() {
    assert_eq!(
        file_kind("k8s/job.yaml", b"apiVersion: batch/v1\nkind: Job\n"),
        Some(FileKind::Manifest)
    );
    let job = "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: sync\n          image: curlimages/curl\n          env:\n            - name: S3M_TOKEN\n              valueFrom: {secretKeyRef: {name: s3m, key: token}}\n          command: [\"curl\"]\n          args:\n            - -H\n            - \"Authorization: $(S3M_TOKEN)\"\n            - https://s3m.olcf.ornl.gov/olcf/v1/status\n        - name: safe\n          command: [\"curl\", \"-H\", \"@/var/run/secrets/s3m/header\", \"https://h/\"]\n        - name: shell\n          command:\n            - /bin/sh\n            - -ec\n            - |\n              echo start\n              curl -s -H \"Authorization: Bearer $IRI_TOKEN\" https://api.alcf.anl.gov/x\n";
    assert_eq!(
        found(FileKind::Manifest, job),
        vec![
            ("hygiene.token_on_command_line", Some(12), None),
            ("hygiene.token_on_command_line", Some(25), None),
        ]
    );
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n    - name: fetch\n      script:\n        image: alpine\n        command: [sh]\n        source: |\n          curl --oauth2-bearer \"$GLOBUS_TOKEN\" https://transfer.api.globus.org/v0.10/task_list\n";
    assert_eq!(
        found(FileKind::Manifest, argo),
        vec![("hygiene.token_on_command_line", Some(10), None)]
    );
    let tekton = "apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  steps:\n    - name: s\n      image: alpine\n      script: |\n        #!/bin/sh\n        curl -u \"admin:$KEYCLOAK_PASSWORD\" https://h/\n";
    assert_eq!(
        found(FileKind::Manifest, tekton),
        vec![("hygiene.token_on_command_line", Some(9), None)]
    );
    // A manifest whose commands carry no credential, and a CI file's `run` key in a
    // manifest, are not findings.
    let quiet = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - command: [\"sleep\", \"3600\"]\n      run: curl -H \"Authorization: $TOKEN\" https://h/\n";
    assert!(found(FileKind::Manifest, quiet).is_empty());
}

#[test]
fn notebook_bang_lines_and_bash_cells() {
    let nb = serde_json::json!({"cells": [
        {"cell_type": "markdown", "source": ["!curl -H \"Authorization: $TOKEN\" https://h/"]},
        {"cell_type": "code", "source": ["import os\n", "!curl -H \"Authorization: $TOKEN\" https://h/\n"]},
        {"cell_type": "code", "source": "%%bash\nexport X=1\ncurl --oauth2-bearer $IRI_TOKEN https://h/\n"},
        {"cell_type": "code", "source": "print('curl -H $TOKEN')"},
        {"cell_type": "code", "source": ["tok = open(p).read()\n", "!curl -s -H \"Authorization: Bearer {tok}\" https://api.alcf.anl.gov/x\n"]},
        {"cell_type": "code", "source": ["!curl -s -H \"Accept: {mime}\" https://h/{path}\n"]}
    ]});
    assert_eq!(
        found(FileKind::Notebook, &nb.to_string()),
        vec![
            (
                "hygiene.token_on_command_line",
                Some(1),
                Some("cell 2".into())
            ),
            (
                "hygiene.token_on_command_line",
                Some(1),
                Some("cell 3".into())
            ),
            (
                "hygiene.token_on_command_line",
                Some(1),
                Some("cell 5".into())
            ),
        ]
    );
    // Written as Jupyter writes it (one source line per line of the file), each finding
    // is placed on the file's line, and IPython's `x = !cmd` capture is a command too.
    let pretty = serde_json::to_string_pretty(&serde_json::json!({"cells": [
        {"cell_type": "markdown", "source": ["# x\n"]},
        {"cell_type": "code", "source": ["import os\n", "out = !curl -s -H \"Authorization: Bearer $TOKEN\" https://h/\n"]}
    ]}))
    .unwrap_or_default();
    let want = pretty
        .lines()
        .position(|l| l.contains("out = !curl"))
        .map(|i| i as u64 + 1);
    assert_eq!(
        found(FileKind::Notebook, &pretty),
        vec![("hygiene.token_on_command_line", want, Some("cell 2".into()))]
    );
    // A long line of multi-byte characters is cut between characters, not inside one.
    let wide = serde_json::json!({"cells": [{"cell_type": "code", "source": [format!(
        "!curl -H \"Authorization: Bearer $TOKEN\" https://h/?q={}\n",
        "é".repeat(80)
    )]}]})
    .to_string();
    assert_eq!(found(FileKind::Notebook, &wide).len(), 1);
    assert_eq!(
        ipython_expand("echo {a,b} {self.token}"),
        "echo {a,b} ${token}"
    );
    assert!(found(FileKind::Notebook, "not json").is_empty());
}
