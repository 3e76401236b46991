//! Cross-cutting HTTP: error responses, security headers, CSRF, cookies, pages, languages.

pub mod admission;
pub mod brand;
pub mod client_addr;
pub mod cookies;
pub mod csrf;
pub mod csv;
pub mod error;
pub mod form;
pub mod health;
pub mod i18n;
pub mod incident;
pub mod lang;
pub mod pages;
pub mod request_log;
pub mod security;
pub mod serve;
pub mod throttle;
pub mod tls;
