//! The statistics page for statisticians: the same anonymised export as the CLI and the API,
//! as a table and a bar chart drawn on the server (SVG, readable without colour: every bar is
//! labelled with its number, and the table beside it holds the same figures).

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;

use super::{Role, with_operator};
use crate::state::App;
use crate::stats::Metric;
use crate::stats::export::{self, Request};
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::render;

pub struct Bar {
    pub label: String,
    /// `None` when suppressed.
    pub count: Option<u64>,
    pub y: usize,
    pub width: usize,
}

#[derive(Template)]
#[template(path = "console_stats.html")]
pub struct StatsPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub from: String,
    pub to: String,
    pub by: String,
    pub metric: String,
    /// (metric, its label's key)
    pub metrics: Vec<(&'static str, String)>,
    pub dims: Vec<&'static str>,
    pub k: u64,
    /// (values of the breakdown, count)
    pub rows: Vec<(Vec<String>, Option<u64>)>,
    pub headers: Vec<String>,
    pub total: Option<u64>,
    pub bars: Vec<Bar>,
    pub chart_height: usize,
    /// Portals by administrative level, and the share of sign-ins at each acr.
    pub levels: Vec<(String, u64)>,
    pub acr_shares: Vec<(String, String)>,
    /// With the satisfaction metric: the comments of the period (they name nobody).
    pub comments: Option<Vec<crate::store::satisfaction::StoredComment>>,
    pub error: Option<String>,
}

/// Comments shown with the satisfaction figures.
const COMMENTS_SHOWN: i64 = 100;

const BAR_HEIGHT: usize = 24;
const BAR_SPACE: usize = 8;
const BAR_MAX: usize = 360;

/// `GET /console/stats[?from=…&to=…&by=…&metric=…]` (a week up to today by default).
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(raw): RawQuery) -> Response {
    let q = Params::from_query(&raw);
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::Statistician)?;
        let now = app.now();
        let from = q.get("from").map(str::to_owned).unwrap_or_else(|| crate::stats::dims::day_of(now - 6 * 86_400));
        let to = q.get("to").map(str::to_owned).unwrap_or_else(|| crate::stats::dims::day_of(now));
        let by = q.get("by").unwrap_or("gender").to_string();
        let metric = q.get("metric").and_then(Metric::parse).unwrap_or(Metric::SignIn);
        let k = app.settings.stats_k;
        let built = match export::parse_by(&by) {
            Ok(dims) => {
                let request = Request { from: from.clone(), to: to.clone(), by: dims, metrics: vec![metric], k };
                export::export(&app.store, request, k).await?
            }
            Err(e) => Err(e),
        };
        let mut page = StatsPage {
            locale: op.locale,
            switch_href: Some(format!("/console/stats?lang={}", op.locale.other().as_str())),
            from,
            to,
            by,
            metric: metric.as_str().into(),
            metrics: Metric::ALL.iter().map(|m| (m.as_str(), format!("console.stats.metric.{}", m.as_str()))).collect(),
            dims: vec!["gender", "age_band", "province", "portal", "acr", "method", "outcome", "subject_type", "day"],
            k,
            rows: Vec::new(),
            headers: Vec::new(),
            total: None,
            bars: Vec::new(),
            chart_height: 0,
            levels: Vec::new(),
            acr_shares: Vec::new(),
            comments: None,
            error: None,
        };
        if metric == Metric::Satisfaction {
            page.comments = Some(app.store.satisfaction_comments(&page.from, &page.to, COMMENTS_SHOWN).await?);
        }
        if let Ok(report) = crate::stats::integration::report(&app.store, &page.from, &page.to, k).await? {
            if let Some(levels) = report["by_administrative_level"].as_object() {
                page.levels = levels.iter().map(|(l, n)| (l.clone(), n.as_u64().unwrap_or(0))).collect();
            }
            for s in report["sign_ins_by_acr"].as_array().into_iter().flatten() {
                let share = s["share"].as_f64().map_or_else(|| op.locale.t("console.stats.suppressed"), |x| format!("{:.1} %", x * 100.0));
                page.acr_shares.push((s["acr"].as_str().unwrap_or_default().to_string(), share));
            }
        }
        match built {
            Ok(out) => {
                if let Some(t) = out.tables.first() {
                    page.headers = out.request.by.iter().map(|d| d.as_str().to_string()).collect();
                    page.rows = (0..t.table.cells.len())
                        .map(|i| {
                            (t.table.coords(i).into_iter().enumerate().map(|(d, c)| t.values[d][c].clone()).collect(), t.published.cells[i])
                        })
                        .collect();
                    page.total = t.published.total;
                    let max = page.rows.iter().filter_map(|(_, c)| *c).max().unwrap_or(0).max(1);
                    page.bars = page
                        .rows
                        .iter()
                        .enumerate()
                        .map(|(i, (labels, count))| Bar {
                            label: labels.join(" · "),
                            count: *count,
                            y: i * (BAR_HEIGHT + BAR_SPACE),
                            width: count.map_or(0, |c| (c as usize * BAR_MAX) / max as usize),
                        })
                        .collect();
                    page.chart_height = page.bars.len() * (BAR_HEIGHT + BAR_SPACE);
                }
            }
            Err(e) => page.error = Some(format!("{} ({e})", op.locale.t("console.stats.error"))),
        }
        let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        Ok(render(status, &page))
    })
    .await
}
