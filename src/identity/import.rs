//! Population registry import: JSON Lines or CSV, validated row by row, upserted in batches
//! keyed by personal ID. Each batch and the position reached commit together, so an
//! interrupted import resumes where it stopped and never leaves half a batch.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use indicatif::ProgressBar;
use serde::Deserialize;

use super::person::parse_date;
use super::{AccountLevel, Person, PersonStatus, PersonalId, Sex};
use crate::keys::secret::{b64url, sha256};
use crate::store::persons::Checkpoint;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One row as the registry delivers it; every field is checked by [`validate`].
#[derive(Debug, Default, Deserialize)]
pub struct PersonRecord {
    pub personal_id: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub given_name: Option<String>,
    pub birthdate: Option<String>,
    pub sex: Option<String>,
    pub nationality: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub account_level: Option<serde_json::Value>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Turns a row into a person, or says which field is wrong and why.
pub fn validate(r: &PersonRecord) -> Result<Person, String> {
    let pid_text = present(&r.personal_id).ok_or("personal_id: required")?;
    let personal_id = PersonalId::parse(pid_text).map_err(|e| format!("personal_id: {e}"))?;
    let family_name = present(&r.family_name).ok_or("family_name: required")?.to_string();
    let given_name = present(&r.given_name).ok_or("given_name: required")?.to_string();
    let middle_name = present(&r.middle_name).unwrap_or_default().to_string();
    let birthdate = match present(&r.birthdate) {
        Some(d) => Some(parse_date(d).ok_or_else(|| format!("birthdate: {d:?} is not a date in YYYY-MM-DD form"))?),
        None => None,
    };
    let sex = match present(&r.sex) {
        Some(s) => Some(Sex::parse(s).ok_or_else(|| format!("sex: {s:?} must be male or female"))?),
        None => None,
    };
    personal_id
        .check_against(sex, birthdate.map(|d| d.year()))
        .map_err(|e| format!("personal_id: {e}"))?;
    let nationality = present(&r.nationality).unwrap_or("VN");
    if !(nationality.len() == 2 && nationality.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(format!("nationality: {nationality:?} is not an ISO 3166-1 alpha-2 code"));
    }
    let level = match &r.account_level {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let account_level = level.and_then(AccountLevel::from_i64).ok_or("account_level: must be 1 or 2")?;
    let email = present(&r.email).map(str::to_owned);
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        return Err("email: not an e-mail address".into());
    }
    let phone = present(&r.phone).map(str::to_owned);
    if phone.as_deref().is_some_and(|p| !valid_phone(p)) {
        return Err("phone: digits only, optionally with a leading +, 8 to 15 digits".into());
    }
    Ok(Person {
        id: uuid::Uuid::new_v4().to_string(),
        personal_id,
        family_name,
        middle_name,
        given_name,
        birthdate,
        sex,
        nationality: nationality.to_string(),
        address: present(&r.address).map(str::to_owned),
        phone,
        email,
        account_level,
        status: PersonStatus::Active,
    })
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !e.contains(char::is_whitespace),
        None => false,
    }
}

fn valid_phone(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or(p);
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the CSV header lacks the column {0:?}")]
    MissingColumn(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: i64,
    pub rejected: i64,
    /// The line the import continued from (0 for a fresh import).
    pub resumed_at_line: i64,
}

pub struct Importer<'a> {
    pub store: &'a Store,
    pub batch_size: usize,
    pub restart: bool,
    pub progress: ProgressBar,
    pub now: i64,
}

/// Identifies a source file by name, size and the hash of its first MiB: a changed file is a
/// new source and starts from the beginning.
fn source_key(path: &Path, file: &mut File) -> Result<(String, u64), std::io::Error> {
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(1 << 20);
    Read::by_ref(file).take(1 << 20).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    Ok((format!("persons:{name}:{len}:{}", b64url(&sha256(&head))), len))
}

struct Batch {
    rows: Vec<Person>,
    checkpoint: Checkpoint,
}

impl Batch {
    /// A personal ID appearing twice in one batch keeps its last row (PostgreSQL refuses to
    /// update one row twice in a statement).
    fn push(&mut self, p: Person) {
        if let Some(prev) = self.rows.iter_mut().rev().take(64).find(|q| q.personal_id == p.personal_id) {
            *prev = p;
        } else {
            self.rows.push(p);
        }
    }
}

impl Importer<'_> {
    pub async fn run(&self, path: &Path, format: Format, rejects: &mut dyn Write) -> Result<ImportReport, ImportError> {
        let io = |e| ImportError::Io(path.display().to_string(), e);
        let mut file = File::open(path).map_err(io)?;
        let (source, len) = source_key(path, &mut file).map_err(io)?;
        if self.restart {
            self.store.clear_import_checkpoint(&source).await?;
        }
        let start = self.store.import_checkpoint(&source).await?.unwrap_or_default();
        let resumed_at_line = start.line;
        self.progress.set_length(len);
        self.progress.set_position(start.byte_offset as u64);
        let mut batch = Batch { rows: Vec::with_capacity(self.batch_size), checkpoint: start };
        match format {
            Format::JsonLines => self.json_lines(file, &source, &mut batch, rejects).await?,
            Format::Csv => self.csv(file, &source, &mut batch, rejects).await?,
        }
        self.flush(&source, &mut batch).await?;
        self.progress.finish_and_clear();
        Ok(ImportReport { imported: batch.checkpoint.imported, rejected: batch.checkpoint.rejected, resumed_at_line })
    }

    async fn row(&self, source: &str, batch: &mut Batch, rec: Result<PersonRecord, String>, line: i64, end: u64, rejects: &mut dyn Write) -> Result<(), ImportError> {
        match rec.and_then(|r| validate(&r)) {
            Ok(p) => {
                batch.push(p);
                batch.checkpoint.imported += 1;
            }
            Err(reason) => {
                batch.checkpoint.rejected += 1;
                writeln!(rejects, "line {line}: {reason}").map_err(|e| ImportError::Io("rejects report".into(), e))?;
            }
        }
        batch.checkpoint.line = line;
        batch.checkpoint.byte_offset = end as i64;
        if batch.rows.len() >= self.batch_size {
            self.flush(source, batch).await?;
        }
        Ok(())
    }

    async fn flush(&self, source: &str, batch: &mut Batch) -> Result<(), ImportError> {
        self.store.import_persons(&batch.rows, source, &batch.checkpoint, self.now).await?;
        batch.rows.clear();
        self.progress.set_position(batch.checkpoint.byte_offset as u64);
        self.progress.set_message(format!("{} imported, {} rejected", batch.checkpoint.imported, batch.checkpoint.rejected));
        Ok(())
    }

    async fn json_lines(&self, mut file: File, source: &str, batch: &mut Batch, rejects: &mut dyn Write) -> Result<(), ImportError> {
        let io = |e| ImportError::Io(source.into(), e);
        let mut offset = batch.checkpoint.byte_offset as u64;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line_no = batch.checkpoint.line;
        let mut buf = String::new();
        loop {
            buf.clear();
            let n = reader.read_line(&mut buf).map_err(io)?;
            if n == 0 {
                return Ok(());
            }
            offset += n as u64;
            line_no += 1;
            if buf.trim().is_empty() {
                continue;
            }
            let rec = serde_json::from_str::<PersonRecord>(&buf).map_err(|e| format!("not a JSON object with the person fields: {e}"));
            self.row(source, batch, rec, line_no, offset, rejects).await?;
        }
    }

    async fn csv(&self, mut file: File, source: &str, batch: &mut Batch, rejects: &mut dyn Write) -> Result<(), ImportError> {
        // The csv crate counts lines one short in files with CRLF line ends (as Python's csv
        // module writes them), so the reported line numbers are corrected by one for those.
        let crlf = {
            let mut head = [0u8; 4096];
            let n = file.read(&mut head).map_err(|e| ImportError::Io(source.into(), e))?;
            file.seek(SeekFrom::Start(0)).map_err(|e| ImportError::Io(source.into(), e))?;
            head[..n].windows(2).position(|w| w[1] == b'\n').is_some_and(|i| head[i] == b'\r')
        };
        let fix = i64::from(crlf);
        let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(BufReader::with_capacity(1 << 20, file));
        let headers = rdr.headers()?.clone();
        for required in ["personal_id", "family_name", "given_name", "account_level"] {
            if !headers.iter().any(|h| h == required) {
                return Err(ImportError::MissingColumn(required));
            }
        }
        if batch.checkpoint.byte_offset > 0 {
            let mut pos = csv::Position::new();
            pos.set_byte(batch.checkpoint.byte_offset as u64).set_line((batch.checkpoint.line + 1 - fix).max(1) as u64);
            rdr.seek(pos)?;
        }
        let mut record = csv::StringRecord::new();
        loop {
            // Where the next record starts, for a row that cannot be read at all.
            let next_line = rdr.position().line() as i64 + fix;
            let more = match rdr.read_record(&mut record) {
                Ok(m) => m,
                Err(e) => {
                    // A malformed row (e.g. broken quoting) is rejected; the rest goes on.
                    let end = rdr.position().byte();
                    let line = e.position().map_or(next_line, |p| p.line() as i64 + fix);
                    self.row(source, batch, Err(format!("unreadable CSV row: {e}")), line, end, rejects).await?;
                    continue;
                }
            };
            if !more {
                return Ok(());
            }
            let end = rdr.position().byte();
            let line = record.position().map_or(next_line, |p| p.line() as i64 + fix);
            let rec = if record.len() != headers.len() {
                Err(format!("{} fields where the header has {}", record.len(), headers.len()))
            } else {
                record.deserialize::<PersonRecord>(Some(&headers)).map_err(|e| format!("{e}"))
            };
            self.row(source, batch, rec, line, end, rejects).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(f: impl FnOnce(&mut PersonRecord)) -> PersonRecord {
        let mut r = PersonRecord {
            personal_id: Some("001190012345".into()),
            family_name: Some("Lê".into()),
            middle_name: Some("Thị".into()),
            given_name: Some("Hoa".into()),
            birthdate: Some("1990-01-02".into()),
            sex: Some("female".into()),
            nationality: Some("VN".into()),
            account_level: Some(serde_json::json!(2)),
            ..Default::default()
        };
        f(&mut r);
        r
    }

    #[test]
    fn validation_reasons_name_the_field() {
        assert!(validate(&rec(|_| {})).is_ok());
        let cases: Vec<(PersonRecord, &str)> = vec![
            (rec(|r| r.personal_id = None), "personal_id: required"),
            (rec(|r| r.personal_id = Some("123".into())), "personal_id:"),
            (rec(|r| r.sex = Some("male".into())), "personal_id:"),
            (rec(|r| r.birthdate = Some("1991-01-02".into())), "personal_id:"),
            (rec(|r| r.birthdate = Some("02/01/1990".into())), "birthdate:"),
            (rec(|r| r.sex = Some("f".into())), "sex:"),
            (rec(|r| r.family_name = Some(" ".into())), "family_name: required"),
            (rec(|r| r.given_name = None), "given_name: required"),
            (rec(|r| r.nationality = Some("Viet Nam".into())), "nationality:"),
            (rec(|r| r.account_level = Some(serde_json::json!(3))), "account_level:"),
            (rec(|r| r.account_level = None), "account_level:"),
            (rec(|r| r.email = Some("no-at-sign".into())), "email:"),
            (rec(|r| r.phone = Some("09x".into())), "phone:"),
        ];
        for (r, expected) in cases {
            let err = validate(&r).unwrap_err();
            assert!(err.starts_with(expected), "{err:?} should start with {expected:?}");
        }
        assert!(validate(&rec(|r| r.account_level = Some(serde_json::json!("1")))).is_ok());
    }
}
