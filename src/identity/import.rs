//! Population registry import: JSON Lines or CSV, validated row by row, upserted in batches
//! keyed by personal ID (persons) or by code (organisations). Each batch and the position reached
//! commit together, so an interrupted import resumes where it stopped and never leaves half a
//! batch. What differs between persons and organisations is an `ImportKind`; reading,
//! batching, reporting and resuming are shared.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use indicatif::ProgressBar;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::person::parse_date;
use super::{AccountLevel, AgencyCode, Organisation, Person, PersonStatus, PersonalId, RepresentativeRole, Sex, TaxCode};
use crate::crypto::{b64url, sha256};
use crate::store::persons::{Checkpoint, OrgImportRow, UnknownRepresentative};
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
    personal_id.check_against(sex, birthdate.map(|d| d.year())).map_err(|e| format!("personal_id: {e}"))?;
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
        id: super::PersonId::generate(),
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

/// One organisation row as the registry delivers it; every field is checked by [`validate_org`].
#[derive(Debug, Default, Deserialize)]
pub struct OrgRecord {
    /// Enterprise tax code (`0100233488`, `0100233488-001`) or agency code (`000.00.18.G12`).
    pub code: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub representative_personal_id: Option<String>,
    /// `legal_representative` or `authorised_staff`; required with a representative.
    pub representative_role: Option<String>,
}

/// Turns an organisation row (at `line`) into what the store upserts, or says which field is
/// wrong and why. Whether the representative is a registered person is the store's to find out.
pub fn validate_org(r: &OrgRecord, line: i64) -> Result<OrgImportRow, String> {
    let text = present(&r.code).ok_or("code: required")?;
    let (code, kind) = org_code(text).map_err(|e| format!("code: {e}"))?;
    let name = present(&r.name).ok_or("name: required")?.to_string();
    let representative = match (present(&r.representative_personal_id), present(&r.representative_role)) {
        (None, None) => None,
        (None, Some(_)) => return Err("representative_role: given without representative_personal_id".into()),
        (Some(_), None) => {
            return Err("representative_role: required with representative_personal_id (legal_representative or authorised_staff)".into());
        }
        (Some(pid), Some(role)) => {
            let pid = PersonalId::parse(pid).map_err(|e| format!("representative_personal_id: {e}"))?;
            let role = RepresentativeRole::parse(role)
                .ok_or_else(|| format!("representative_role: {role:?} must be legal_representative or authorised_staff"))?;
            Some((pid, role))
        }
    };
    Ok(OrgImportRow {
        line,
        org: Organisation {
            id: uuid::Uuid::new_v4().to_string(),
            code,
            kind: kind.to_string(),
            name,
            address: present(&r.address).map(str::to_owned),
        },
        representative,
    })
}

/// The canonical form and kind of an organisation's code: a tax code for an enterprise, an
/// agency code (the only codes with dots) for an agency.
fn org_code(s: &str) -> Result<(String, &'static str), String> {
    if s.contains('.') {
        return AgencyCode::parse(s).map(|c| (c.as_str().to_string(), "agency")).map_err(|e| e.to_string());
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(format!("{s:?} is neither a tax code (10 digits, with -NNN for a branch) nor an agency code (AAA.BB.CC.Xnn)"));
    }
    let tax_code = TaxCode::parse(s).map_err(|e| e.to_string())?;
    // TaxCode also takes 12-digit personal tax codes, which are a person's identification number:
    // a person (or their household business) is not an organisation here.
    if tax_code.as_str().len() == 12 {
        return Err("a 12-digit personal tax code identifies a person; an enterprise's tax code has 10 digits".into());
    }
    Ok((tax_code.as_str().to_string(), "enterprise"))
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

/// What differs between importing persons and organisations.
trait ImportKind {
    /// A row as read from the file.
    type Record: DeserializeOwned;
    /// A validated row, as the store takes it.
    type Row;
    /// Starts the source key, so that a file imported as persons and as organisations keeps two
    /// checkpoints.
    const SOURCE_PREFIX: &'static str;
    const CSV_REQUIRED: &'static [&'static str];
    /// Names the fields in the message for a JSON line that does not parse.
    const FIELDS: &'static str;
    fn validate(r: &Self::Record, line: i64) -> Result<Self::Row, String>;
    /// Rows of one batch with the same key collapse into the last one; `None` keeps every row.
    fn dedupe_key(row: &Self::Row) -> Option<&str>;
    /// Writes a batch and the checkpoint in one transaction. Returns how many of the rows the
    /// store found wanting (they are in `rejects` already, and the checkpoint written counts them
    /// as rejected, not imported).
    async fn store(
        store: &Store,
        rows: &[Self::Row],
        source: &str,
        checkpoint: &Checkpoint,
        now: i64,
        rejects: &mut dyn Write,
    ) -> Result<i64, ImportError>;
}

/// `nixa person import`: upserts keyed by personal ID.
struct Persons;

impl ImportKind for Persons {
    type Record = PersonRecord;
    type Row = Person;
    const SOURCE_PREFIX: &'static str = "persons";
    const CSV_REQUIRED: &'static [&'static str] = &["personal_id", "family_name", "given_name", "account_level"];
    const FIELDS: &'static str = "person";

    fn validate(r: &PersonRecord, _line: i64) -> Result<Person, String> {
        validate(r)
    }

    fn dedupe_key(p: &Person) -> Option<&str> {
        Some(p.personal_id.as_str())
    }

    async fn store(
        store: &Store,
        rows: &[Person],
        source: &str,
        checkpoint: &Checkpoint,
        now: i64,
        _rejects: &mut dyn Write,
    ) -> Result<i64, ImportError> {
        store.import_persons(rows, source, checkpoint, now).await?;
        Ok(0)
    }
}

/// `nixa org import`: upserts keyed by code, with representatives linked.
struct Orgs;

impl ImportKind for Orgs {
    type Record = OrgRecord;
    type Row = OrgImportRow;
    const SOURCE_PREFIX: &'static str = "orgs";
    const CSV_REQUIRED: &'static [&'static str] = &["code", "name"];
    const FIELDS: &'static str = "organisation";

    fn validate(r: &OrgRecord, line: i64) -> Result<OrgImportRow, String> {
        validate_org(r, line)
    }

    /// None: an organisation may have one row per representative, and each row's link counts.
    /// The store writes each organisation once per batch.
    fn dedupe_key(_: &OrgImportRow) -> Option<&str> {
        None
    }

    /// A row whose representative is not a registered person is reported and counted as rejected,
    /// while its organisation is still imported: the organisation's own data is valid, and the
    /// link can follow once the person is imported (run with `--restart`). The report lines are
    /// written before the batch commits, so a failure to write them keeps nothing of the batch.
    async fn store(
        store: &Store,
        rows: &[OrgImportRow],
        source: &str,
        checkpoint: &Checkpoint,
        now: i64,
        rejects: &mut dyn Write,
    ) -> Result<i64, ImportError> {
        let unknown = store
            .import_orgs(rows, source, checkpoint, now, |unknown: &[UnknownRepresentative]| {
                for u in unknown {
                    writeln!(rejects, "line {}: representative_personal_id: no person with this identification number", u.line)
                        .map_err(report_error)?;
                }
                Ok::<(), ImportError>(())
            })
            .await?;
        Ok(unknown.len() as i64)
    }
}

fn report_error(e: std::io::Error) -> ImportError {
    ImportError::Io("rejects report".into(), e)
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
fn source_key(prefix: &str, path: &Path, file: &mut File) -> Result<(String, u64), std::io::Error> {
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(1 << 20);
    Read::by_ref(file).take(1 << 20).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    Ok((format!("{prefix}:{name}:{len}:{}", b64url(&sha256(&head))), len))
}

struct Batch<R> {
    rows: Vec<R>,
    /// Where each dedupe key is in `rows`.
    index: HashMap<String, usize>,
    checkpoint: Checkpoint,
}

impl<R> Batch<R> {
    /// A key appearing twice in one batch keeps its last row (PostgreSQL refuses to update one
    /// row twice in a statement).
    fn push(&mut self, row: R, key: Option<String>) {
        match key {
            Some(k) => match self.index.get(&k) {
                Some(&i) => self.rows[i] = row,
                None => {
                    self.index.insert(k, self.rows.len());
                    self.rows.push(row);
                }
            },
            None => self.rows.push(row),
        }
    }
}

impl Importer<'_> {
    /// Imports persons (`nixa person import`), upserted by personal ID.
    pub async fn run(&self, path: &Path, format: Format, rejects: &mut dyn Write) -> Result<ImportReport, ImportError> {
        self.run_kind::<Persons>(path, format, rejects).await
    }

    /// Imports organisations (`nixa org import`), upserted by code, and links their
    /// representatives. A row naming a representative who is not in the registry is reported
    /// and counted as rejected; its organisation is imported all the same.
    pub async fn run_orgs(&self, path: &Path, format: Format, rejects: &mut dyn Write) -> Result<ImportReport, ImportError> {
        self.run_kind::<Orgs>(path, format, rejects).await
    }

    async fn run_kind<K: ImportKind>(&self, path: &Path, format: Format, rejects: &mut dyn Write) -> Result<ImportReport, ImportError> {
        let io = |e| ImportError::Io(path.display().to_string(), e);
        let mut file = File::open(path).map_err(io)?;
        let (source, len) = source_key(K::SOURCE_PREFIX, path, &mut file).map_err(io)?;
        if self.restart {
            self.store.clear_import_checkpoint(&source).await?;
        }
        let start = self.store.import_checkpoint(&source).await?.unwrap_or_default();
        let resumed_at_line = start.line;
        self.progress.set_length(len);
        self.progress.set_position(start.byte_offset as u64);
        let mut batch = Batch { rows: Vec::with_capacity(self.batch_size), index: HashMap::new(), checkpoint: start };
        match format {
            Format::JsonLines => self.json_lines::<K>(file, &source, &mut batch, rejects).await?,
            Format::Csv => self.csv::<K>(file, &source, &mut batch, rejects).await?,
        }
        self.flush::<K>(&source, &mut batch, rejects).await?;
        self.progress.finish_and_clear();
        Ok(ImportReport { imported: batch.checkpoint.imported, rejected: batch.checkpoint.rejected, resumed_at_line })
    }

    async fn row<K: ImportKind>(
        &self,
        source: &str,
        batch: &mut Batch<K::Row>,
        rec: Result<K::Record, String>,
        line: i64,
        end: u64,
        rejects: &mut dyn Write,
    ) -> Result<(), ImportError> {
        match rec.and_then(|r| K::validate(&r, line)) {
            Ok(row) => {
                let key = K::dedupe_key(&row).map(str::to_owned);
                batch.push(row, key);
                batch.checkpoint.imported += 1;
            }
            Err(reason) => {
                batch.checkpoint.rejected += 1;
                writeln!(rejects, "line {line}: {reason}").map_err(report_error)?;
            }
        }
        batch.checkpoint.line = line;
        batch.checkpoint.byte_offset = end as i64;
        if batch.rows.len() >= self.batch_size {
            self.flush::<K>(source, batch, rejects).await?;
        }
        Ok(())
    }

    async fn flush<K: ImportKind>(&self, source: &str, batch: &mut Batch<K::Row>, rejects: &mut dyn Write) -> Result<(), ImportError> {
        let moved = K::store(self.store, &batch.rows, source, &batch.checkpoint, self.now, rejects).await?;
        batch.checkpoint.imported -= moved;
        batch.checkpoint.rejected += moved;
        batch.rows.clear();
        batch.index.clear();
        self.progress.set_position(batch.checkpoint.byte_offset as u64);
        self.progress.set_message(format!("{} imported, {} rejected", batch.checkpoint.imported, batch.checkpoint.rejected));
        Ok(())
    }

    async fn json_lines<K: ImportKind>(
        &self,
        mut file: File,
        source: &str,
        batch: &mut Batch<K::Row>,
        rejects: &mut dyn Write,
    ) -> Result<(), ImportError> {
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
            let rec = serde_json::from_str::<K::Record>(&buf).map_err(|e| format!("not a JSON object with the {} fields: {e}", K::FIELDS));
            self.row::<K>(source, batch, rec, line_no, offset, rejects).await?;
        }
    }

    async fn csv<K: ImportKind>(
        &self,
        mut file: File,
        source: &str,
        batch: &mut Batch<K::Row>,
        rejects: &mut dyn Write,
    ) -> Result<(), ImportError> {
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
        for &required in K::CSV_REQUIRED {
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
                    self.row::<K>(source, batch, Err(format!("unreadable CSV row: {e}")), line, end, rejects).await?;
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
                record.deserialize::<K::Record>(Some(&headers)).map_err(|e| format!("{e}"))
            };
            self.row::<K>(source, batch, rec, line, end, rejects).await?;
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

    fn org(f: impl FnOnce(&mut OrgRecord)) -> OrgRecord {
        let mut r = OrgRecord {
            code: Some("0100233488".into()),
            name: Some("Công ty Cổ phần Ví dụ".into()),
            representative_personal_id: Some("001190012345".into()),
            representative_role: Some("legal_representative".into()),
            ..Default::default()
        };
        f(&mut r);
        r
    }

    #[test]
    fn organisation_codes_are_canonical_with_their_kind() {
        let row = validate_org(&org(|r| r.code = Some(" 0314409058002 ".into())), 7).unwrap();
        assert_eq!((row.line, row.org.code.as_str(), row.org.kind.as_str()), (7, "0314409058-002", "enterprise"));
        assert_eq!(
            row.representative.map(|(p, role)| (p.as_str().to_string(), role)),
            Some(("001190012345".into(), RepresentativeRole::LegalRepresentative))
        );
        let row = validate_org(&org(|r| r.code = Some("000.00.18.G12".into())), 1).unwrap();
        assert_eq!((row.org.code.as_str(), row.org.kind.as_str()), ("000.00.18.G12", "agency"));
        let row = validate_org(&org(|r| (r.representative_personal_id, r.representative_role) = (None, None)), 1).unwrap();
        assert!(row.representative.is_none() && row.org.address.is_none());
    }

    #[test]
    fn organisation_validation_reasons_name_the_field() {
        let cases: Vec<(OrgRecord, &str)> = vec![
            (org(|r| r.code = None), "code: required"),
            (org(|r| r.code = Some("0100233489".into())), "code: the check digit of tax code 0100233489 is wrong"),
            (org(|r| r.code = Some("0100233488-000".into())), "code: a tax code branch suffix"),
            (org(|r| r.code = Some("MST-0100233488".into())), "code: \"MST-0100233488\" is neither a tax code"),
            (org(|r| r.code = Some("079215000001".into())), "code: a 12-digit personal tax code identifies a person"),
            (org(|r| r.code = Some("000.05.00.G12".into())), "code: the level-3 group"),
            (org(|r| r.code = Some("00.00.18.G12".into())), "code: the first group"),
            (org(|r| r.name = Some("  ".into())), "name: required"),
            (org(|r| r.representative_personal_id = None), "representative_role: given without representative_personal_id"),
            (org(|r| r.representative_role = None), "representative_role: required with representative_personal_id"),
            (org(|r| r.representative_role = Some("ceo".into())), "representative_role: \"ceo\" must be"),
            (org(|r| r.representative_personal_id = Some("12345".into())), "representative_personal_id:"),
        ];
        for (r, expected) in cases {
            let err = validate_org(&r, 1).unwrap_err();
            assert!(err.starts_with(expected), "{err:?} should start with {expected:?}");
        }
    }
}
