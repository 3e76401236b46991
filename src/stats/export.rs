//! Exports of the statistics: one table per metric over the breakdown asked for, summed over the
//! days asked for, anonymised by `suppress` before anything leaves the server.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::suppress::{Published, Table, suppress};
use super::{Cell, Metric, dims};
use crate::store::{Store, StoreError};

/// The largest table an export builds (cells of the full breakdown, per metric).
pub const MAX_CELLS: usize = 20_000;

/// A dimension to break the counts down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Day,
    Portal,
    Acr,
    Method,
    Outcome,
    SubjectType,
    Gender,
    AgeBand,
    Province,
}

impl Dim {
    const ALL: [Dim; 9] =
        [Dim::Day, Dim::Portal, Dim::Acr, Dim::Method, Dim::Outcome, Dim::SubjectType, Dim::Gender, Dim::AgeBand, Dim::Province];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Day => "day",
            Dim::Portal => "portal",
            Dim::Acr => "acr",
            Dim::Method => "method",
            Dim::Outcome => "outcome",
            Dim::SubjectType => "subject_type",
            Dim::Gender => "gender",
            Dim::AgeBand => "age_band",
            Dim::Province => "province",
        }
    }

    fn of(self, c: &Cell) -> &str {
        match self {
            Dim::Day => &c.day,
            Dim::Portal => &c.portal,
            Dim::Acr => &c.acr,
            Dim::Method => &c.method,
            Dim::Outcome => &c.outcome,
            Dim::SubjectType => &c.subject_type,
            Dim::Gender => &c.gender,
            Dim::AgeBand => &c.age_band,
            Dim::Province => &c.province,
        }
    }

    /// The values a table shows along this dimension: fixed for gender and age band (so a
    /// report always has the same rows), else those that occur.
    fn values<'a>(self, cells: impl Iterator<Item = &'a Cell>) -> Vec<String> {
        match self {
            Dim::Gender => dims::GENDERS.iter().map(|s| s.to_string()).collect(),
            Dim::AgeBand => dims::AGE_BANDS.iter().map(|s| s.to_string()).collect(),
            _ => cells.map(|c| self.of(c).to_string()).collect::<BTreeSet<_>>().into_iter().collect(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("unknown breakdown {0:?}; use day, portal, acr, method, outcome, subject_type, gender, age_band, province")]
    Dim(String),
    #[error("a breakdown may name each dimension once and at most three")]
    TooMany,
    #[error("dates are YYYY-MM-DD and from is not after to")]
    Dates,
    #[error("unknown metric {0:?}; use sign_in, consent_given, consent_withdrawn, qr_verified, satisfaction")]
    Metric(String),
    #[error("the breakdown has {0} cells; at most {MAX_CELLS} are exported (ask for fewer dimensions or days)")]
    TooFine(usize),
    #[error("k may be raised above the server's threshold ({0}), not lowered")]
    K(u64),
}

/// Parses `gender,age_band,province`.
pub fn parse_by(raw: &str) -> Result<Vec<Dim>, ExportError> {
    let mut out: Vec<Dim> = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let d = Dim::ALL.into_iter().find(|d| d.as_str() == name).ok_or_else(|| ExportError::Dim(name.to_string()))?;
        if out.contains(&d) {
            return Err(ExportError::TooMany);
        }
        out.push(d);
    }
    if out.len() > 3 {
        return Err(ExportError::TooMany);
    }
    Ok(out)
}

pub fn parse_metrics(raw: Option<&str>) -> Result<Vec<Metric>, ExportError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Metric::ALL.to_vec()),
        Some(list) => list.split(',').map(|m| Metric::parse(m.trim()).ok_or_else(|| ExportError::Metric(m.to_string()))).collect(),
    }
}

fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && s.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[derive(Debug, Clone)]
pub struct Request {
    pub from: String,
    pub to: String,
    pub by: Vec<Dim>,
    pub metrics: Vec<Metric>,
    pub k: u64,
}

/// One metric's table, anonymised.
#[derive(Debug, Clone)]
pub struct MetricTable {
    pub metric: Metric,
    pub values: Vec<Vec<String>>,
    pub table: Table,
    pub published: Published,
}

#[derive(Debug, Clone)]
pub struct Export {
    pub request: Request,
    pub tables: Vec<MetricTable>,
}

/// Builds the anonymised export. `min_k` is the server's threshold: a request may only raise it.
pub async fn export(store: &Store, request: Request, min_k: u64) -> Result<Result<Export, ExportError>, StoreError> {
    if !is_day(&request.from) || !is_day(&request.to) || request.from > request.to {
        return Ok(Err(ExportError::Dates));
    }
    if request.k < min_k {
        return Ok(Err(ExportError::K(min_k)));
    }
    let rows = store.stats_between(&request.from, &request.to).await?;
    Ok(build(&rows, request))
}

/// The tables from the stored cells (separate from the query, for the tests).
pub fn build(rows: &[(Cell, i64)], request: Request) -> Result<Export, ExportError> {
    let mut tables = Vec::new();
    for metric in &request.metrics {
        let mine: Vec<&(Cell, i64)> = rows.iter().filter(|(c, _)| c.metric == metric.as_str()).collect();
        let values: Vec<Vec<String>> = request.by.iter().map(|d| d.values(mine.iter().map(|(c, _)| c))).collect();
        let size: usize = values.iter().map(Vec::len).product();
        if size > MAX_CELLS {
            return Err(ExportError::TooFine(size));
        }
        let index: Vec<HashMap<&str, usize>> =
            values.iter().map(|vs| vs.iter().enumerate().map(|(i, v)| (v.as_str(), i)).collect()).collect();
        let mut table = Table::new(values.iter().map(Vec::len).collect());
        for (cell, count) in &mine {
            let coords: Option<Vec<usize>> = request.by.iter().zip(&index).map(|(d, ix)| ix.get(d.of(cell)).copied()).collect();
            if let Some(coords) = coords {
                let i = table.index(&coords);
                table.cells[i] += u64::try_from(*count).unwrap_or(0);
            }
        }
        let published = suppress(&table, request.k);
        tables.push(MetricTable { metric: *metric, values, table, published });
    }
    Ok(Export { request, tables })
}

impl Export {
    pub fn to_json(&self) -> Value {
        let by: Vec<&str> = self.request.by.iter().map(|d| d.as_str()).collect();
        let tables: Vec<Value> = self
            .tables
            .iter()
            .map(|t| {
                let cells: Vec<Value> = (0..t.table.cells.len())
                    .map(|i| {
                        let mut row = serde_json::Map::new();
                        for (d, c) in t.table.coords(i).into_iter().enumerate() {
                            row.insert(by[d].into(), json!(t.values[d][c]));
                        }
                        row.insert("count".into(), json!(t.published.cells[i]));
                        Value::Object(row)
                    })
                    .collect();
                let margins: serde_json::Map<String, Value> = t
                    .published
                    .margins
                    .iter()
                    .enumerate()
                    .map(|(d, m)| {
                        let list: Vec<Value> = m.iter().enumerate().map(|(v, n)| json!({"value": t.values[d][v], "count": n})).collect();
                        (by[d].to_string(), Value::Array(list))
                    })
                    .collect();
                json!({"metric": t.metric.as_str(), "total": t.published.total, "cells": cells, "margins": margins})
            })
            .collect();
        json!({
            "from": self.request.from, "to": self.request.to, "by": by, "k": self.request.k,
            "note": "a null count is suppressed: fewer than k people, or a value that would let one be recomputed",
            "tables": tables,
        })
    }

    /// One line per published figure: `metric`, the breakdown's columns (`*` for "all"), then
    /// `count` (empty when suppressed) and `suppressed`.
    pub fn to_csv(&self) -> String {
        let by: Vec<&str> = self.request.by.iter().map(|d| d.as_str()).collect();
        let mut out = String::new();
        let line = |out: &mut String, fields: Vec<String>, n: Option<u64>| {
            let mut all: Vec<String> = fields.iter().map(|f| crate::web::csv::field(f)).collect();
            all.push(n.map(|n| n.to_string()).unwrap_or_default());
            all.push(n.is_none().to_string());
            out.push_str(&all.join(","));
            out.push('\n');
        };
        let mut header = vec!["metric".to_string()];
        header.extend(by.iter().map(|s| s.to_string()));
        header.extend(["count".to_string(), "suppressed".to_string()]);
        out.push_str(&header.join(","));
        out.push('\n');
        for t in &self.tables {
            let m = t.metric.as_str().to_string();
            for i in 0..t.table.cells.len() {
                let mut f = vec![m.clone()];
                f.extend(t.table.coords(i).into_iter().enumerate().map(|(d, c)| t.values[d][c].clone()));
                line(&mut out, f, t.published.cells[i]);
            }
            for (d, margin) in t.published.margins.iter().enumerate() {
                for (v, n) in margin.iter().enumerate() {
                    let mut f = vec![m.clone()];
                    f.extend((0..by.len()).map(|j| if j == d { t.values[d][v].clone() } else { "*".into() }));
                    line(&mut out, f, *n);
                }
            }
            let mut f = vec![m.clone()];
            f.extend(by.iter().map(|_| "*".to_string()));
            line(&mut out, f, t.published.total);
        }
        out
    }
}
