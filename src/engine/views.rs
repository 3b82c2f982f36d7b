//! Views of a blob in which an encoded credential reads as plain text, for the rules to see it:
//! a Kubernetes Secret's base64 `data:` values decoded, and a CSV export's cells written as
//! `column=value` (a key pair exported from a console has no name beside its values, only a
//! header line above them).
//!
//! A view keeps the blob's lines, so context windows and the line of a finding hold, and says
//! for each region it rewrote which bytes of the blob that region stands for: the engine scans
//! the view, keeps the matches that fall inside a rewritten region, and reports them at the
//! blob's bytes. Views are built only for blobs that announce them (`kind: Secret`, a `.csv`
//! path with a credential column), so other files pay one substring search.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use memchr::memmem;
use regex::bytes::Regex;
use std::ops::Range;
use std::sync::LazyLock;

/// One rewritten region of a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Region {
    /// Where the region sits in the view's text.
    pub view: Range<usize>,
    /// The blob's bytes it stands for.
    pub blob: Range<usize>,
    /// The region's bytes are the blob's own (a CSV cell): an offset inside it maps one to
    /// one. Otherwise (a decoded value) a match inside it stands for the whole encoded span.
    pub exact: bool,
}

/// A rewritten copy of a blob.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// What the view encodes, for the finding's message (`base64 in a Kubernetes Secret`).
    pub what: &'static str,
    pub text: Vec<u8>,
    /// Sorted by position, not overlapping.
    pub regions: Vec<Region>,
    /// Decoded values that are files where they are used (a Secret's `munge.key` entry is
    /// mounted as a file of that name), for the file rules: name, content, encoded span.
    pub files: Vec<(String, Vec<u8>, Range<usize>)>,
}

impl View {
    /// The blob span of a match at `start..end` of the view, when the match lies inside one
    /// rewritten region (a match outside every region was seen in the blob itself).
    pub fn blob_span(&self, start: usize, end: usize) -> Option<Range<usize>> {
        let i = self.regions.partition_point(|r| r.view.end <= start);
        let r = self.regions.get(i)?;
        if start < r.view.start || end > r.view.end {
            return None;
        }
        Some(if r.exact {
            r.blob.start + (start - r.view.start)..r.blob.start + (end - r.view.start)
        } else {
            r.blob.clone()
        })
    }
}

/// Where a Kubernetes Secret's manifest or `kubectl get secret -o yaml|json` output is kept:
/// manifests, Helm templates, and notes and logs it was pasted into. Other files are not
/// searched for `Secret` at all (on the kernel tree that search alone cost 3 % of the scan).
const MANIFEST_EXTENSIONS: [&str; 10] = [
    "yaml", "yml", "json", "tpl", "txt", "log", "md", "rst", "out", "j2",
];

/// Every view the blob announces.
pub(crate) fn views(blob: &[u8], path: Option<&str>) -> Vec<View> {
    let mut out = Vec::new();
    let manifest = path.is_none_or(|p| {
        p.rsplit_once('.').is_some_and(|(_, ext)| {
            MANIFEST_EXTENSIONS
                .iter()
                .any(|m| ext.eq_ignore_ascii_case(m))
        })
    });
    if manifest && let Some(v) = kubernetes_secret(blob) {
        out.push(v);
    }
    if let Some(v) = path.and_then(|p| csv(blob, p)) {
        out.push(v);
    }
    if let Some(v) = path.and_then(|p| dialect(blob, p)) {
        out.push(v);
    }
    let logged = path.is_none_or(|p| {
        p.rsplit_once('.').is_some_and(|(_, ext)| {
            MANIFEST_EXTENSIONS
                .iter()
                .chain(&HTTP_EXTENSIONS)
                .any(|m| ext.eq_ignore_ascii_case(m))
        })
    });
    if logged && let Some(v) = basic_auth(blob) {
        out.push(v);
    }
    out
}

/// Where HTTP requests are written down with their headers, besides manifests and notes:
/// HAR files, `curl -v` output, scripts that call an API.
const HTTP_EXTENSIONS: [&str; 6] = ["har", "http", "sh", "py", "ipynb", "trace"];

/// `Basic <base64 of id:secret>`.
static BASIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)(?:^|[^A-Za-z0-9])Basic[ \t]+(?P<v>[A-Za-z0-9+/]{16,}={0,2})")
        .expect("static regex")
});

/// HTTP Basic credentials decoded (`Authorization: Basic …` in a log or a HAR file carries a
/// client id and its secret), when they decode to `id:secret` text.
fn basic_auth(blob: &[u8]) -> Option<View> {
    memmem::find(blob, b"asic ")?;
    let mut replacements = Vec::new();
    for caps in BASIC.captures_iter(blob) {
        let Some(v) = caps.name("v") else { continue };
        let Some(text) = decode(v.as_bytes()).and_then(|b| as_text(&b)) else {
            continue;
        };
        if memchr::memchr(b':', &text).is_some() {
            replacements.push((v.range(), text, false));
        }
    }
    if replacements.is_empty() {
        return None;
    }
    Some(rewrite(
        blob,
        "base64 in an HTTP Basic header",
        replacements,
    ))
}

/// `set -gx NAME VALUE` (fish, its history too).
static FISH_SET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m-u)(?:^|[;&|][ \t]*|cmd:[ \t]*)set[ \t]+(?:-[A-Za-z]+[ \t]+)*[A-Za-z_][A-Za-z0-9_]*(?P<sep>[ \t]+)[^ \t\r\n]")
        .expect("static regex")
});

/// `machine … login … password VALUE` (.netrc, .authinfo).
static NETRC_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)(?:^|[ \t\n])(?:password|passwd)(?P<sep>[ \t]+)[^ \t\r\n]")
        .expect("static regex")
});

/// `<NAME>VALUE</NAME>` on one line (XML configs: Spring, Hadoop, broker settings).
static XML_ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)<(?P<open>[A-Za-z_][A-Za-z0-9_.:-]*)(?P<sep>>)[^<\n]{1,300}</(?P<close>[A-Za-z_][A-Za-z0-9_.:-]*)>")
        .expect("static regex")
});

/// `| NAME | VALUE |`, the value maybe in backticks (Markdown tables in notes and docs).
static MD_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m-u)^[ \t]*\|[ \t]*`?[A-Za-z_][A-Za-z0-9_.-]*`?[ \t]*(?P<sep>\|)[ \t]*(?P<q1>`?)[^|`\n]+(?P<q2>`?)[ \t]*\|")
        .expect("static regex")
});

/// Files whose dialect names a value with a space, a tag or a table cell where the rules
/// expect `NAME=VALUE`: fish's `set -x NAME VALUE`, `.netrc`'s `password VALUE`, XML's
/// `<password>VALUE</password>`, a Markdown table's `| SecretAccessKey | \`VALUE\` |`. The view
/// changes only that separator (to `=`) and a table's backticks (to `"`), byte for byte, so
/// every offset is the blob's. Chosen by path, so other files cost nothing.
fn dialect(blob: &[u8], path: &str) -> Option<View> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let fish = ext == "fish" || name == "fish_history" || name == "fish_variables";
    let netrc = matches!(name.as_str(), ".netrc" | "_netrc" | ".authinfo");
    let (xml, md) = (ext == "xml", ext == "md" || ext == "markdown");
    if !(fish || netrc || xml || md) {
        return None;
    }
    let mut text = blob.to_vec();
    let mut changed_at: Vec<usize> = Vec::new();
    let mut set = |at: usize, b: u8| {
        text[at] = b;
        changed_at.push(at);
    };
    if fish {
        for c in FISH_SET.captures_iter(blob) {
            if let Some(sep) = c.name("sep") {
                set(sep.start(), b'=');
            }
        }
    } else if netrc {
        for c in NETRC_PASSWORD.captures_iter(blob) {
            if let Some(sep) = c.name("sep") {
                set(sep.start(), b'=');
            }
        }
    } else if xml {
        for c in XML_ELEMENT.captures_iter(blob) {
            if let (Some(open), Some(close), Some(sep)) =
                (c.name("open"), c.name("close"), c.name("sep"))
                && open.as_bytes() == close.as_bytes()
            {
                set(sep.start(), b'=');
            }
        }
    } else {
        for c in MD_ROW.captures_iter(blob) {
            if let Some(sep) = c.name("sep") {
                set(sep.start(), b'=');
            }
            for q in [c.name("q1"), c.name("q2")].into_iter().flatten() {
                if !q.is_empty() {
                    set(q.start(), b'"');
                }
            }
        }
    }
    if changed_at.is_empty() {
        return None;
    }
    // Only the lines that changed count: a match elsewhere was seen in the blob itself.
    changed_at.sort_unstable();
    let mut regions: Vec<Region> = Vec::new();
    for at in changed_at {
        let start = memchr::memrchr(b'\n', &blob[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &blob[at..]).map_or(blob.len(), |i| at + i);
        match regions.last_mut() {
            Some(last) if last.view.end >= start => last.view.end = last.view.end.max(end),
            _ => regions.push(Region {
                view: start..end,
                blob: start..end,
                exact: true,
            }),
        }
        if let Some(last) = regions.last_mut() {
            last.blob = last.view.clone();
        }
    }
    Some(View {
        what: "a NAME VALUE dialect",
        text,
        regions,
        files: Vec::new(),
    })
}

/// Writes `text` with `replacements` (sorted, not overlapping blob spans, each with its new
/// bytes and whether they are the blob's own) applied.
fn rewrite(
    blob: &[u8],
    what: &'static str,
    replacements: Vec<(Range<usize>, Vec<u8>, bool)>,
) -> View {
    let mut text = Vec::with_capacity(blob.len() + blob.len() / 4);
    let mut regions = Vec::with_capacity(replacements.len());
    let mut at = 0;
    for (span, bytes, exact) in replacements {
        text.extend_from_slice(&blob[at..span.start]);
        let start = text.len();
        text.extend_from_slice(&bytes);
        regions.push(Region {
            view: start..text.len(),
            blob: span.clone(),
            exact,
        });
        at = span.end;
    }
    text.extend_from_slice(&blob[at..]);
    View {
        what,
        text,
        regions,
        files: Vec::new(),
    }
}

static SECRET_KIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m-u)^[ \t]*"?kind"?[ \t]*:[ \t]*"?Secret"?[ \t]*,?[ \t]*\r?$"#)
        .expect("static regex")
});

/// A `name: value` line (YAML) or `"name": "value",` (JSON) whose value is base64.
static BASE64_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m-u)^[ \t]*"?(?P<name>[A-Za-z0-9_.-]+)"?[ \t]*:[ \t]*"?(?P<v>[A-Za-z0-9+/]{8,}={0,2})"?,?[ \t]*\r?$"#,
    )
    .expect("static regex")
});

/// A Kubernetes Secret (YAML or JSON, `kubectl get secret -o yaml` output too) with its base64
/// values decoded. A value is replaced only when it decodes to text: newlines in it become
/// spaces, so the view keeps the blob's lines. A value that decodes to bytes is kept as a file
/// of its entry's name (a `munge.key` entry), for the file rules.
fn kubernetes_secret(blob: &[u8]) -> Option<View> {
    memmem::find(blob, b"Secret")?;
    if !SECRET_KIND.is_match(blob) {
        return None;
    }
    let mut replacements = Vec::new();
    let mut files = Vec::new();
    for caps in BASE64_VALUE.captures_iter(blob) {
        let Some(v) = caps.name("v") else { continue };
        let Some(bytes) = decode(v.as_bytes()) else {
            continue;
        };
        match as_text(&bytes) {
            Some(text) => replacements.push((v.range(), text, false)),
            None => {
                let name = caps.name("name").map_or(String::new(), |n| {
                    String::from_utf8_lossy(n.as_bytes()).into_owned()
                });
                files.push((name, bytes, v.range()));
            }
        }
    }
    if replacements.is_empty() && files.is_empty() {
        return None;
    }
    let mut view = rewrite(blob, "base64 in a Kubernetes Secret", replacements);
    view.files = files;
    Some(view)
}

/// Standard base64, padded or not.
fn decode(v: &[u8]) -> Option<Vec<u8>> {
    STANDARD
        .decode(v)
        .or_else(|_| STANDARD_NO_PAD.decode(v))
        .ok()
}

/// Decoded bytes that are printable text (newlines turned into spaces).
fn as_text(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 6 || std::str::from_utf8(bytes).is_err() {
        return None;
    }
    let printable = |b: &u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e) || *b >= 0x80;
    if !bytes.iter().all(printable) {
        return None;
    }
    Some(
        bytes
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
            .collect(),
    )
}

/// Longer column names are not written into the view (each cell repeats its name).
const MAX_COLUMN_NAME: usize = 64;

/// Column names that say a CSV export holds credentials.
const CREDENTIAL_COLUMNS: [&[u8]; 5] = [b"secret", b"key", b"token", b"pass", b"credential"];

/// A CSV or TSV export whose header names a credential column, each cell of its rows written
/// as `column=cell` (`secret_key=…`), the column name with anything but letters and digits
/// turned into `_` (`Secret access key` → `Secret_access_key`).
fn csv(blob: &[u8], path: &str) -> Option<View> {
    let lower = path.to_ascii_lowercase();
    let sep = if lower.ends_with(".csv") {
        b','
    } else if lower.ends_with(".tsv") {
        b'\t'
    } else {
        return None;
    };
    let header_end = memchr::memchr(b'\n', blob)?;
    let header = &blob[..header_end];
    // A header names columns: it holds the separator, and no name is long (a chunk that
    // starts inside a row, or a file that only looks like a CSV, gets no view).
    memchr::memchr(sep, header)?;
    let lowered = header.to_ascii_lowercase();
    if !CREDENTIAL_COLUMNS
        .iter()
        .any(|c| memmem::find(&lowered, c).is_some())
    {
        return None;
    }
    let names: Vec<Vec<u8>> = fields(header, sep)?
        .into_iter()
        .map(|r| {
            if r.len() > MAX_COLUMN_NAME {
                return Vec::new();
            }
            header[r]
                .iter()
                .map(|&b| if b.is_ascii_alphanumeric() { b } else { b'_' })
                .collect()
        })
        .collect();
    let mut replacements = Vec::new();
    let mut line_start = header_end + 1;
    while line_start < blob.len() {
        let line_end =
            memchr::memchr(b'\n', &blob[line_start..]).map_or(blob.len(), |i| line_start + i);
        let line = &blob[line_start..line_end];
        // A quoted cell across lines would need a real CSV reader: leave the rest unviewed.
        let Some(cells) = fields(line, sep) else {
            break;
        };
        for (i, cell) in cells.into_iter().enumerate() {
            let Some(name) = names.get(i).filter(|n| !n.is_empty()) else {
                continue;
            };
            if cell.is_empty() {
                continue;
            }
            // The name goes before the cell, inside the region; the cell's own bytes follow.
            let span = line_start + cell.start..line_start + cell.end;
            let mut bytes = Vec::with_capacity(name.len() + 1 + span.len());
            bytes.extend_from_slice(name);
            bytes.push(b'=');
            bytes.extend_from_slice(&blob[span.clone()]);
            replacements.push((span, bytes, true));
        }
        line_start = line_end + 1;
    }
    if replacements.is_empty() {
        return None;
    }
    let mut view = rewrite(blob, "a CSV export's column", replacements);
    // A region's exact bytes are the cell's: start them after the `name=` prefix.
    for r in &mut view.regions {
        let prefix = (r.view.end - r.view.start) - (r.blob.end - r.blob.start);
        r.view.start += prefix;
    }
    Some(view)
}

/// The content ranges of a line's cells (quotes excluded); `None` when a quote is left open or
/// a quoted cell holds a doubled quote (its bytes are then not the value's).
fn fields(line: &[u8], sep: u8) -> Option<Vec<Range<usize>>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let close = memchr::memchr(b'"', &line[i + 1..])? + i + 1;
            if line.get(close + 1) == Some(&b'"') {
                return None;
            }
            out.push(i + 1..close);
            i = close + 1;
            match line.get(i) {
                None => return Some(out),
                Some(&b) if b == sep => i += 1,
                Some(_) => return None,
            }
        } else {
            let end = memchr::memchr(sep, &line[i..]).map_or(line.len(), |j| i + j);
            out.push(i..end);
            if end == line.len() {
                return Some(out);
            }
            i = end + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_of(v: &View, r: &Region) -> String {
        String::from_utf8_lossy(&v.text[r.view.clone()]).into_owned()
    }

    #[test]
    fn a_secret_manifest_s_base64_values_are_decoded_in_place() {
        let b64 = STANDARD.encode("771555ca-2466-4006-af6f-cc5b95ec36b7");
        let blob = format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  client-id: {}\n  client-secret: {b64}\n",
            STANDARD.encode("admin-client")
        );
        let v = kubernetes_secret(blob.as_bytes()).expect("a view");
        assert_eq!(v.regions.len(), 2);
        assert_eq!(
            view_of(&v, &v.regions[1]),
            "771555ca-2466-4006-af6f-cc5b95ec36b7"
        );
        let at = blob.find(&b64).unwrap();
        assert_eq!(v.regions[1].blob, at..at + b64.len());
        // Lines are kept; a match inside the region stands for the whole encoded value.
        assert_eq!(
            v.text.iter().filter(|&&b| b == b'\n').count(),
            blob.matches('\n').count()
        );
        let r = &v.regions[1];
        assert_eq!(
            v.blob_span(r.view.start + 3, r.view.end),
            Some(at..at + b64.len())
        );
        assert_eq!(v.blob_span(0, 4), None);
    }

    #[test]
    fn binary_values_are_files_and_other_kinds_are_left_alone() {
        let bin = STANDARD.encode([0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let v = kubernetes_secret(format!("kind: Secret\ndata:\n  munge.key: {bin}\n").as_bytes())
            .expect("a view");
        assert!(v.regions.is_empty(), "bytes are not text");
        assert_eq!(v.files[0].0, "munge.key");
        assert_eq!(v.files[0].1, [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let text = STANDARD.encode("some-longer-value");
        assert!(
            kubernetes_secret(format!("kind: ConfigMap\ndata:\n  k: {text}\n").as_bytes())
                .is_none()
        );
        let json = format!(
            "{{\n  \"kind\": \"Secret\",\n  \"data\": {{\n    \"k\": \"{text}\"\n  }}\n}}\n"
        );
        assert!(kubernetes_secret(json.as_bytes()).is_some());
    }

    #[test]
    fn dialects_get_an_equals_sign_in_place() {
        let fish = b"set -gx PALMETTO_API_KEY 45h60a\nset -x AWS_SECRET_ACCESS_KEY 'abc'\n";
        let v = dialect(fish, "home/u/.config/fish/config.fish").expect("a view");
        assert_eq!(
            v.text,
            b"set -gx PALMETTO_API_KEY=45h60a\nset -x AWS_SECRET_ACCESS_KEY='abc'\n"
        );
        let netrc = b"machine api.palmetto.clemson.edu login u password KdLhKh\n";
        let v = dialect(netrc, "home/u/.netrc").expect("a view");
        assert!(v.text.ends_with(b"password=KdLhKh\n"));
        let xml = b"<host>h</host>\n<password>TQeOeS</password>\n<a>x</b>\n";
        let v = dialect(xml, "broker.xml").expect("a view");
        assert_eq!(
            v.text,
            b"<host=h</host>\n<password=TQeOeS</password>\n<a>x</b>\n"
        );
        let md = b"| AccessKeyId | `nUJ3Dm` |\n| --- | --- |\n";
        let v = dialect(md, "notes/meeting.md").expect("a view");
        assert!(
            v.text.starts_with(b"| AccessKeyId = \"nUJ3Dm\" |"),
            "{}",
            String::from_utf8_lossy(&v.text)
        );
        assert_eq!(v.blob_span(3, 7), Some(3..7));
        assert_eq!(
            v.blob_span(28, 30),
            None,
            "the unchanged separator row is not a region"
        );
        assert!(dialect(fish, "config.sh").is_none());
    }

    #[test]
    fn csv_cells_are_named_by_their_column_and_map_back_byte_for_byte() {
        let blob = b"User name,Access key ID,Secret access key\nalice,KEYID,\"s3cr3t/value\"\r\n";
        let v = csv(blob, "exports/keys.CSV").expect("a view");
        let text = String::from_utf8_lossy(&v.text);
        assert!(
            text.contains("User_name=alice,Access_key_ID=KEYID,\"Secret_access_key=s3cr3t/value\""),
            "{text}"
        );
        let r = v.regions.last().unwrap();
        assert_eq!(&v.text[r.view.clone()], b"s3cr3t/value");
        assert_eq!(&blob[r.blob.clone()], b"s3cr3t/value");
        assert_eq!(
            v.blob_span(r.view.start + 2, r.view.end),
            Some(r.blob.start + 2..r.blob.end)
        );
        // Not a credential export, not a CSV path, an open quote: no view (or rows stop).
        assert!(csv(b"date,temperature\n1,2\n", "t.csv").is_none());
        assert!(csv(blob, "keys.txt").is_none());
        assert_eq!(fields(b"a,\"b", b','), None);
        assert_eq!(fields(b"a,\"b\"\"c\"", b','), None);
        assert_eq!(fields(b"a\tb", b'\t'), Some(vec![0..1, 2..3]));
    }
}
