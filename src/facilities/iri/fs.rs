//! The filesystem operations of the IRI API, each with its arguments as the spec defines them.

use super::*;
use std::path::PathBuf;

/// One filesystem operation with its arguments, as the spec defines them: the operation is
/// the path segment and operationId ([`FsOp::name`]), the resource is the path's
/// `{resource_id}`, and each field is a query parameter or a body field (the spec's name in
/// parentheses). The same definition is the command line of `tokenwarden iri fs`: there is no
/// second list of operations to keep in step with this one.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum FsOp {
    /// List a directory.
    Ls {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Show hidden files (`showHidden`).
        #[arg(long = "hidden")]
        show_hidden: bool,
        /// Numeric user and group ids (`numericUid`).
        #[arg(long)]
        numeric_uid: bool,
        /// Recurse (`recursive`).
        #[arg(long)]
        recursive: bool,
        /// Follow symlinks (`dereference`).
        #[arg(long)]
        dereference: bool,
    },
    /// First lines or bytes of a file.
    Head {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Bytes (`bytes`).
        #[arg(long)]
        bytes: Option<u64>,
        /// Lines (`lines`).
        #[arg(long)]
        lines: Option<u64>,
        /// All but the last N (`skipTrailing`).
        #[arg(long)]
        skip_trailing: bool,
    },
    /// Last lines or bytes of a file.
    Tail {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Bytes (`bytes`).
        #[arg(long)]
        bytes: Option<u64>,
        /// Lines (`lines`).
        #[arg(long)]
        lines: Option<u64>,
        /// All but the first N (`skipHeading`).
        #[arg(long)]
        skip_heading: bool,
    },
    /// A part of a file.
    View {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Bytes to show (`size`).
        #[arg(long)]
        size: Option<u64>,
        /// From this byte (`offset`).
        #[arg(long)]
        offset: Option<u64>,
    },
    /// File status.
    Stat {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Follow symlinks (`dereference`).
        #[arg(long)]
        dereference: bool,
    },
    /// File type.
    File {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
    },
    /// Checksum of a file.
    Checksum {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
    },
    /// Download a file (to --output, else stdout).
    Download {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
    },
    /// Upload a local file.
    ///
    /// It is sent as the multipart field `file`, named as the local file is.
    Upload {
        /// Resource id.
        resource: String,
        /// Local file.
        local: PathBuf,
        /// Remote path.
        path: String,
    },
    /// Make a directory.
    Mkdir {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Create missing parents (`parent`).
        #[arg(long, short)]
        parents: bool,
    },
    /// Make a symbolic link LINK → PATH.
    Symlink {
        /// Resource id.
        resource: String,
        /// Target.
        path: String,
        /// The link (`link_path`).
        #[arg(value_name = "LINK")]
        link_path: String,
    },
    /// Move.
    Mv {
        /// Resource id.
        resource: String,
        /// Source.
        path: String,
        /// Destination (`target_path`).
        #[arg(value_name = "TARGET")]
        target_path: String,
    },
    /// Copy.
    Cp {
        /// Resource id.
        resource: String,
        /// Source.
        path: String,
        /// Destination (`target_path`).
        #[arg(value_name = "TARGET")]
        target_path: String,
        /// Follow symlinks (`dereference`).
        #[arg(long)]
        dereference: bool,
    },
    /// Remove.
    Rm {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
    },
    /// Change mode (octal, e.g. 750).
    Chmod {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// Mode (`mode`).
        mode: String,
    },
    /// Change owner and/or group.
    Chown {
        /// Resource id.
        resource: String,
        /// Path.
        path: String,
        /// New owner; empty: unchanged (`owner`).
        #[arg(long, default_value = "")]
        owner: String,
        /// New group; empty: unchanged (`group`).
        #[arg(long, default_value = "")]
        group: String,
    },
    /// Make an archive.
    Compress {
        /// Resource id.
        resource: String,
        /// Source.
        path: String,
        /// Archive (`target_path`).
        #[arg(value_name = "TARGET")]
        target_path: String,
        /// Regex of the files to include (`match_pattern`).
        #[arg(long = "match")]
        match_pattern: Option<String>,
        /// Follow symlinks (`dereference`).
        #[arg(long)]
        dereference: bool,
        /// none, bzip2, gzip, xz (`compression`).
        #[arg(long, default_value = "gzip")]
        compression: String,
    },
    /// Unpack an archive.
    Extract {
        /// Resource id.
        resource: String,
        /// Archive.
        path: String,
        /// Directory (`target_path`).
        #[arg(value_name = "TARGET")]
        target_path: String,
        /// none, bzip2, gzip, xz (`compression`).
        #[arg(long, default_value = "gzip")]
        compression: String,
    },
}

/// A call's query parameters.
pub(super) type Query = Vec<(&'static str, String)>;

impl FsOp {
    /// The resource the operation is on (the path's `{resource_id}`).
    pub fn resource(&self) -> &str {
        match self {
            FsOp::Ls { resource, .. }
            | FsOp::Head { resource, .. }
            | FsOp::Tail { resource, .. }
            | FsOp::View { resource, .. }
            | FsOp::Stat { resource, .. }
            | FsOp::File { resource, .. }
            | FsOp::Checksum { resource, .. }
            | FsOp::Download { resource, .. }
            | FsOp::Upload { resource, .. }
            | FsOp::Mkdir { resource, .. }
            | FsOp::Symlink { resource, .. }
            | FsOp::Mv { resource, .. }
            | FsOp::Cp { resource, .. }
            | FsOp::Rm { resource, .. }
            | FsOp::Chmod { resource, .. }
            | FsOp::Chown { resource, .. }
            | FsOp::Compress { resource, .. }
            | FsOp::Extract { resource, .. } => resource,
        }
    }

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

    /// The method, body and query of the call; an upload reads its local file here.
    pub(super) fn request(&self) -> Result<(Method, Body, Query), ClientError> {
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
        Ok(match self {
            FsOp::Ls {
                path,
                show_hidden,
                numeric_uid,
                recursive,
                dereference,
                ..
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
                ..
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
                ..
            } => {
                let mut q = path_q(path);
                num(&mut q, "bytes", *bytes);
                num(&mut q, "lines", *lines);
                flag(&mut q, "skipHeading", *skip_heading);
                (Method::GET, Body::Empty, q)
            }
            FsOp::View {
                path, size, offset, ..
            } => {
                let mut q = path_q(path);
                num(&mut q, "size", *size);
                num(&mut q, "offset", *offset);
                (Method::GET, Body::Empty, q)
            }
            FsOp::Stat {
                path, dereference, ..
            } => {
                let mut q = path_q(path);
                flag(&mut q, "dereference", *dereference);
                (Method::GET, Body::Empty, q)
            }
            FsOp::File { path, .. } | FsOp::Checksum { path, .. } | FsOp::Download { path, .. } => {
                (Method::GET, Body::Empty, path_q(path))
            }
            FsOp::Rm { path, .. } => (Method::DELETE, Body::Empty, path_q(path)),
            FsOp::Upload { path, local, .. } => {
                let bytes = std::fs::read(local).map_err(|source| ClientError::Io {
                    path: local.display().to_string(),
                    source,
                })?;
                let file_name = local
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "upload".into());
                (
                    Method::POST,
                    Body::File {
                        field: "file".into(),
                        file_name,
                        bytes,
                    },
                    path_q(path),
                )
            }
            FsOp::Mkdir { path, parents, .. } => (
                Method::POST,
                Body::Json(json!({"path": path, "parent": parents})),
                vec![],
            ),
            FsOp::Symlink {
                path, link_path, ..
            } => (
                Method::POST,
                Body::Json(json!({"path": path, "link_path": link_path})),
                vec![],
            ),
            FsOp::Mv {
                path, target_path, ..
            } => (
                Method::POST,
                Body::Json(json!({"path": path, "target_path": target_path})),
                vec![],
            ),
            FsOp::Cp {
                path,
                target_path,
                dereference,
                ..
            } => (
                Method::POST,
                Body::Json(
                    json!({"path": path, "target_path": target_path, "dereference": dereference}),
                ),
                vec![],
            ),
            FsOp::Chmod { path, mode, .. } => (
                Method::PUT,
                Body::Json(json!({"path": path, "mode": mode})),
                vec![],
            ),
            FsOp::Chown {
                path, owner, group, ..
            } => (
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
                ..
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
                ..
            } => (
                Method::POST,
                Body::Json(
                    json!({"path": path, "target_path": target_path, "compression": compression}),
                ),
                vec![],
            ),
        })
    }
}
