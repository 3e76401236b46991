//! `nixa serve`: run the provider until SIGINT or SIGTERM.

use nixa::config::Settings;
use nixa::routes::router;
use nixa::state::App;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen;
    let demo = settings.demo;
    let app = App::start(settings).await?;
    if demo {
        tracing::warn!("DEMO MODE: example master key and demo accounts; never use in production");
        let summary = nixa::demo::seed(&app.store, &app.settings.master_key, app.now()).await?;
        println!("nixa demo data (development only):\n{}", serde_json::to_string_pretty(&summary)?);
        if let Some(file) = &app.settings.channels.file {
            println!("messages to people (codes, notifications) are written to {}", file.display());
        }
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("discovery: {}", app.settings.url("/.well-known/openid-configuration"));
    if demo {
        println!(
            "try it: {} (sign in as a demo person above; the account page shows what the platform holds)",
            app.settings.url("/account")
        );
    }
    tracing::info!(%listen, issuer = %app.settings.issuer_str, "nixa listening");
    let metrics = serve_metrics(&app).await;
    let traces = nixa::trace::start_export(&app.settings.traces).map_err(|e| anyhow::anyhow!(e))?;
    if let Some(url) = &app.settings.traces.otlp_url {
        tracing::info!(%url, "traces exported over OTLP/HTTP");
    }
    let janitor = nixa::janitor::spawn(&app);
    let siem = nixa::audit::siem::spawn(nixa::audit::siem::Exporter {
        store: app.store.clone(),
        outbound: app.outbound.clone(),
        cfg: app.settings.siem.clone(),
        hostname: app.settings.siem.hostname.clone().unwrap_or_else(|| app.settings.issuer.host_str().unwrap_or("nixa").to_string()),
        now: {
            let app = app.clone();
            std::sync::Arc::new(move || app.now())
        },
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    let limits = app.settings.http.clone();
    let certificates = nixa::web::tls::Certificates::load(&app.settings.tls).map_err(|e| anyhow::anyhow!(e))?;
    let tls = match &certificates {
        Some(c) => Some(c.acceptor().map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    let reloads = tokio::spawn(reload_on_sighup(certificates));
    nixa::web::serve::serve(listener, router(app.clone()), &limits, tls, shutdown_signal()).await?;
    reloads.abort();
    janitor.abort();
    for task in siem {
        task.abort();
    }
    if let Some(m) = metrics {
        m.abort();
    }
    // The spans still queued go out before the process ends (the exporter's own thread).
    if let Some(provider) = traces
        && let Err(e) = tokio::task::spawn_blocking(move || provider.shutdown()).await.unwrap_or(Ok(()))
    {
        tracing::warn!(error = %e, "sending the last traces failed");
    }
    // What was counted since the janitor's last run is not lost on a clean stop.
    if let Err(e) = app.stats.flush(&app.store).await {
        tracing::warn!(error = %e, "folding the last usage statistics failed");
    }
    Ok(())
}

/// `/metrics` on its own address. A metrics port that cannot be had is logged, not fatal:
/// people's sign-ins do not depend on it.
async fn serve_metrics(app: &std::sync::Arc<App>) -> Option<tokio::task::JoinHandle<()>> {
    let addr = app.settings.metrics_listen?;
    if nixa::metrics::handle().is_none() {
        tracing::warn!("metrics: another recorder is installed; /metrics is not served");
        return None;
    }
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%addr, error = %e, "metrics: cannot listen; /metrics is not served");
            return None;
        }
    };
    tracing::info!(%addr, "metrics listening (/metrics)");
    let (router, limits) = (nixa::routes::metrics_router(app.clone()), app.settings.http.clone());
    Some(tokio::spawn(async move {
        if let Err(e) = nixa::web::serve::serve(listener, router, &limits, None, std::future::pending()).await {
            tracing::warn!(error = %e, "metrics listener stopped");
        }
    }))
}

/// SIGHUP reads the certificate files again (a renewed certificate, no restart). Handled also
/// without `[tls]`: SIGHUP's default action would end the process (`systemctl reload`).
async fn reload_on_sighup(certificates: Option<std::sync::Arc<nixa::web::tls::Certificates>>) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            match certificates.as_ref().map(|c| c.reload()) {
                Some(Ok(())) => tracing::info!("TLS certificate reloaded"),
                Some(Err(e)) => tracing::warn!(error = %e, "TLS certificate not reloaded; still serving the previous one"),
                None => tracing::info!("SIGHUP: nothing to reload (no [tls])"),
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
