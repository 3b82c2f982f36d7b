//! The filesystem operations of the IRI API, each with its arguments as the spec defines them.

use super::*;

/// One filesystem operation with its arguments, as the spec defines them.
#[derive(Clone, Debug)]
pub enum FsOp {
    /// `ls`.
    Ls {
        /// Directory.
        path: String,
        /// `showHidden`.
        show_hidden: bool,
        /// `numericUid`.
        numeric_uid: bool,
        /// `recursive`.
        recursive: bool,
        /// `dereference`.
        dereference: bool,
    },
    /// `head`.
    Head {
        /// File.
        path: String,
        /// `bytes`.
        bytes: Option<u64>,
        /// `lines`.
        lines: Option<u64>,
        /// `skipTrailing`.
        skip_trailing: bool,
    },
    /// `tail`.
    Tail {
        /// File.
        path: String,
        /// `bytes`.
        bytes: Option<u64>,
        /// `lines`.
        lines: Option<u64>,
        /// `skipHeading`.
        skip_heading: bool,
    },
    /// `view`.
    View {
        /// File.
        path: String,
        /// `size`.
        size: Option<u64>,
        /// `offset`.
        offset: Option<u64>,
    },
    /// `stat`.
    Stat {
        /// Path.
        path: String,
        /// `dereference`.
        dereference: bool,
    },
    /// `file` (the type of a file).
    File {
        /// Path.
        path: String,
    },
    /// `checksum`.
    Checksum {
        /// File.
        path: String,
    },
    /// `download`.
    Download {
        /// File.
        path: String,
    },
    /// `upload` (multipart `file`).
    Upload {
        /// Destination path.
        path: String,
        /// The file name sent.
        file_name: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// `mkdir`.
    Mkdir {
        /// Directory.
        path: String,
        /// `parent`: create missing parents.
        parents: bool,
    },
    /// `symlink`.
    Symlink {
        /// Target.
        path: String,
        /// The new link.
        link_path: String,
    },
    /// `mv`.
    Mv {
        /// Source.
        path: String,
        /// Destination.
        target_path: String,
    },
    /// `cp`.
    Cp {
        /// Source.
        path: String,
        /// Destination.
        target_path: String,
        /// Follow symlinks.
        dereference: bool,
    },
    /// `rm`.
    Rm {
        /// Path.
        path: String,
    },
    /// `chmod`.
    Chmod {
        /// Path.
        path: String,
        /// Octal mode (`750`).
        mode: String,
    },
    /// `chown`.
    Chown {
        /// Path.
        path: String,
        /// New owner (empty: unchanged).
        owner: String,
        /// New group (empty: unchanged).
        group: String,
    },
    /// `compress`.
    Compress {
        /// Source.
        path: String,
        /// Archive to write.
        target_path: String,
        /// Regex of files to include.
        match_pattern: Option<String>,
        /// Follow symlinks.
        dereference: bool,
        /// `none|bzip2|gzip|xz`.
        compression: String,
    },
    /// `extract`.
    Extract {
        /// Archive.
        path: String,
        /// Directory to extract into.
        target_path: String,
        /// `none|bzip2|gzip|xz`.
        compression: String,
    },
}

impl FsOp {
    /// The spec's operationId, which is also the path segment.
    pub fn name(&self) -> &'static str {
        match self {
            FsOp::Ls { .. } => "ls",
            FsOp::Head { .. } => "head",
            FsOp::Tail { .. } => "tail",
            FsOp::View { .. } => "view",
            FsOp::Stat { .. } => "stat",
            FsOp::File { .. } => "file",
            FsOp::Checksum { .. } => "checksum",
            FsOp::Download { .. } => "download",
            FsOp::Upload { .. } => "upload",
            FsOp::Mkdir { .. } => "mkdir",
            FsOp::Symlink { .. } => "symlink",
            FsOp::Mv { .. } => "mv",
            FsOp::Cp { .. } => "cp",
            FsOp::Rm { .. } => "rm",
            FsOp::Chmod { .. } => "chmod",
            FsOp::Chown { .. } => "chown",
            FsOp::Compress { .. } => "compress",
            FsOp::Extract { .. } => "extract",
        }
    }

    pub(super) fn request(&self) -> (Method, Body, Vec<(&'static str, String)>) {
        use serde_json::json;
        let flag = |q: &mut Vec<(&'static str, String)>, k: &'static str, on: bool| {
            if on {
                q.push((k, "true".into()));
            }
        };
        let num = |q: &mut Vec<(&'static str, String)>, k: &'static str, v: Option<u64>| {
            if let Some(v) = v {
                q.push((k, v.to_string()));
            }
        };
        let path_q = |p: &str| vec![("path", p.to_string())];
        match self {
            FsOp::Ls {
                path,
                show_hidden,
                numeric_uid,
                recursive,
                dereference,
            } => {
                let mut q = path_q(path);
                flag(&mut q, "showHidden", *show_hidden);
                flag(&mut q, "numericUid", *numeric_uid);
                flag(&mut q, "recursive", *recursive);
                flag(&mut q, "dereference", *dereference);
                (Method::GET, Body::Empty, q)
            }
            FsOp::Head {
                path,
                bytes,
                lines,
                skip_trailing,
            } => {
                let mut q = path_q(path);
                num(&mut q, "bytes", *bytes);
                num(&mut q, "lines", *lines);
                flag(&mut q, "skipTrailing", *skip_trailing);
                (Method::GET, Body::Empty, q)
            }
            FsOp::Tail {
                path,
                bytes,
                lines,
                skip_heading,
            } => {
                let mut q = path_q(path);
                num(&mut q, "bytes", *bytes);
                num(&mut q, "lines", *lines);
                flag(&mut q, "skipHeading", *skip_heading);
                (Method::GET, Body::Empty, q)
            }
            FsOp::View { path, size, offset } => {
                let mut q = path_q(path);
                num(&mut q, "size", *size);
                num(&mut q, "offset", *offset);
                (Method::GET, Body::Empty, q)
            }
            FsOp::Stat { path, dereference } => {
                let mut q = path_q(path);
                flag(&mut q, "dereference", *dereference);
                (Method::GET, Body::Empty, q)
            }
            FsOp::File { path } | FsOp::Checksum { path } | FsOp::Download { path } => {
                (Method::GET, Body::Empty, path_q(path))
            }
            FsOp::Rm { path } => (Method::DELETE, Body::Empty, path_q(path)),
            FsOp::Upload {
                path,
                file_name,
                bytes,
            } => (
                Method::POST,
                Body::File {
                    field: "file".into(),
                    file_name: file_name.clone(),
                    bytes: bytes.clone(),
                },
                path_q(path),
            ),
            FsOp::Mkdir { path, parents } => (
                Method::POST,
                Body::Json(json!({"path": path, "parent": parents})),
                vec![],
            ),
            FsOp::Symlink { path, link_path } => (
                Method::POST,
                Body::Json(json!({"path": path, "link_path": link_path})),
                vec![],
            ),
            FsOp::Mv { path, target_path } => (
                Method::POST,
                Body::Json(json!({"path": path, "target_path": target_path})),
                vec![],
            ),
            FsOp::Cp {
                path,
                target_path,
                dereference,
            } => (
                Method::POST,
                Body::Json(
                    json!({"path": path, "target_path": target_path, "dereference": dereference}),
                ),
                vec![],
            ),
            FsOp::Chmod { path, mode } => (
                Method::PUT,
                Body::Json(json!({"path": path, "mode": mode})),
                vec![],
            ),
            FsOp::Chown { path, owner, group } => (
                Method::PUT,
                Body::Json(json!({"path": path, "owner": owner, "group": group})),
                vec![],
            ),
            FsOp::Compress {
                path,
                target_path,
                match_pattern,
                dereference,
                compression,
            } => {
                let mut b = json!({"path": path, "target_path": target_path,
                    "dereference": dereference, "compression": compression});
                if let Some(m) = match_pattern {
                    b["match_pattern"] = json!(m);
                }
                (Method::POST, Body::Json(b), vec![])
            }
            FsOp::Extract {
                path,
                target_path,
                compression,
            } => (
                Method::POST,
                Body::Json(
                    json!({"path": path, "target_path": target_path, "compression": compression}),
                ),
                vec![],
            ),
        }
    }
}
