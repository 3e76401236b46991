//! QR images of a credential text: error correction M, quiet zone of 4 modules, and the text is
//! entirely in the QR alphanumeric set (base45) so the encoder picks alphanumeric mode.

use qrcode::{EcLevel, QrCode, Version};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("credential does not fit a QR code: {0}")]
    TooLong(String),
    #[error("PNG encoding failed")]
    Png,
    #[error("not a readable PNG: {0}")]
    BadImage(String),
    #[error("no QR code could be read from the image")]
    NoCode,
}

const QUIET: usize = 4;

pub fn code(text: &str) -> Result<QrCode, RenderError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| RenderError::TooLong(e.to_string()))
}

/// The QR version (1–40) a text needs at level M.
pub fn version(text: &str) -> Result<i16, RenderError> {
    match code(text)?.version() {
        Version::Normal(v) => Ok(v),
        Version::Micro(v) => Ok(v),
    }
}

pub fn svg(text: &str) -> Result<String, RenderError> {
    use qrcode::render::svg;
    Ok(code(text)?.render::<svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build())
}

/// A grey-scale PNG with `scale` pixels per module.
pub fn png(text: &str, scale: usize) -> Result<Vec<u8>, RenderError> {
    let c = code(text)?;
    let w = c.width();
    let modules = c.to_colors();
    let side = (w + 2 * QUIET) * scale;
    let mut pixels = vec![255u8; side * side];
    for y in 0..w {
        for x in 0..w {
            if modules[y * w + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    let row = ((y + QUIET) * scale + dy) * side;
                    let start = row + (x + QUIET) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|_| RenderError::Png)?;
        writer.write_image_data(&pixels).map_err(|_| RenderError::Png)?;
    }
    Ok(out)
}

/// Reads the first QR code in a PNG image.
pub fn decode_png(data: &[u8]) -> Result<String, RenderError> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(data));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| RenderError::BadImage(e.to_string()))?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| RenderError::BadImage(e.to_string()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let line = info.line_size;
    let grey = |x: usize, y: usize| -> u8 {
        let p = &buf[y * line + x * channels..];
        match channels {
            1 | 2 => p[0],
            _ => ((p[0] as u16 * 30 + p[1] as u16 * 59 + p[2] as u16 * 11) / 100) as u8,
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    for grid in img.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            return Ok(text);
        }
    }
    Err(RenderError::NoCode)
}
