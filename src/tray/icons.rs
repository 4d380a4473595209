//! The menu-bar icon for each state, from the PNGs in `assets/icons/` (drawn by
//! `assets/make-icons.sh`). macOS gets template images (black + alpha, recoloured by the menu
//! bar for light and dark mode); Linux trays do not recolour, so they get the coloured ones.

use crate::model::Phase;

/// Which drawing a phase uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconKind {
    /// Joined.
    Connected,
    /// Checking, starting or reconnecting.
    Starting,
    /// Head lost, worker kept during the grace.
    Disconnecting,
    /// Head lost, no worker.
    Disconnected,
    /// Paused, stopping or shutting down.
    Paused,
    /// Needs the user.
    Error,
}

impl IconKind {
    /// The icon for a phase.
    pub fn for_phase(phase: Phase) -> IconKind {
        match phase {
            Phase::Connected => IconKind::Connected,
            Phase::Checking | Phase::Starting | Phase::Reconnecting => IconKind::Starting,
            Phase::Disconnecting => IconKind::Disconnecting,
            Phase::Disconnected => IconKind::Disconnected,
            Phase::Paused | Phase::Stopping | Phase::ShuttingDown | Phase::Draining => {
                IconKind::Paused
            }
            Phase::Error => IconKind::Error,
        }
    }

    /// The PNG bytes for this platform (the 2x template on macOS, which scales down crisply
    /// on 1x screens; the coloured one elsewhere). On macOS tray-icon shows the 44 px template
    /// 22 pt tall, so its 32 px glyph is 16 pt tall like the system's items (see
    /// `assets/make-icons.sh` for why the canvas is 44 px).
    pub fn png(self) -> &'static [u8] {
        #[cfg(target_os = "macos")]
        {
            match self {
                IconKind::Connected => {
                    include_bytes!("../../assets/icons/connected-template@2x.png")
                }
                IconKind::Starting => include_bytes!("../../assets/icons/starting-template@2x.png"),
                IconKind::Disconnecting => {
                    include_bytes!("../../assets/icons/disconnecting-template@2x.png")
                }
                IconKind::Disconnected => {
                    include_bytes!("../../assets/icons/disconnected-template@2x.png")
                }
                IconKind::Paused => include_bytes!("../../assets/icons/paused-template@2x.png"),
                IconKind::Error => include_bytes!("../../assets/icons/error-template@2x.png"),
            }
        }
        #[cfg(not(target_os = "macos"))]
        {
            match self {
                IconKind::Connected => include_bytes!("../../assets/icons/connected-color.png"),
                IconKind::Starting => include_bytes!("../../assets/icons/starting-color.png"),
                IconKind::Disconnecting => {
                    include_bytes!("../../assets/icons/disconnecting-color.png")
                }
                IconKind::Disconnected => {
                    include_bytes!("../../assets/icons/disconnected-color.png")
                }
                IconKind::Paused => include_bytes!("../../assets/icons/paused-color.png"),
                IconKind::Error => include_bytes!("../../assets/icons/error-color.png"),
            }
        }
    }
}

/// Decoded RGBA pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Row-major RGBA bytes.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Decodes one of our PNGs to RGBA.
pub fn decode(png_bytes: &[u8]) -> Result<Rgba, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info()?;
    let mut buffer = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buffer)?;
    buffer.truncate(info.buffer_size());
    let pixels = match info.color_type {
        png::ColorType::Rgba => buffer,
        png::ColorType::GrayscaleAlpha => buffer
            .chunks_exact(2)
            .flat_map(|ga| [ga[0], ga[0], ga[0], ga[1]])
            .collect(),
        png::ColorType::Rgb => buffer
            .chunks_exact(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        // Grayscale and indexed images are expanded to the above by the transformations.
        _ => buffer.iter().flat_map(|&g| [g, g, g, 255]).collect(),
    };
    Ok(Rgba {
        pixels,
        width: info.width,
        height: info.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [IconKind; 6] = [
        IconKind::Connected,
        IconKind::Starting,
        IconKind::Disconnecting,
        IconKind::Disconnected,
        IconKind::Paused,
        IconKind::Error,
    ];

    #[test]
    fn every_icon_decodes_to_a_square_with_transparency() {
        for kind in ALL {
            let icon = decode(kind.png()).expect("decodes");
            assert_eq!(icon.width, icon.height, "{kind:?}");
            assert_eq!(icon.pixels.len() as u32, icon.width * icon.height * 4);
            let alphas: Vec<u8> = icon.pixels.chunks_exact(4).map(|p| p[3]).collect();
            assert!(alphas.contains(&0), "{kind:?} has a transparent background");
            assert!(alphas.contains(&255), "{kind:?} has an opaque shape");
        }
    }

    #[test]
    fn the_states_look_different() {
        let decoded: Vec<Vec<u8>> = ALL
            .iter()
            .map(|k| decode(k.png()).expect("decodes").pixels)
            .collect();
        for i in 0..decoded.len() {
            for j in i + 1..decoded.len() {
                assert_ne!(decoded[i], decoded[j], "{:?} vs {:?}", ALL[i], ALL[j]);
            }
        }
    }

    /// The height in pixels of the part of an image that is at least half opaque.
    fn glyph_height(icon: &Rgba) -> u32 {
        let rows: Vec<u32> = (0..icon.height)
            .filter(|&y| {
                (0..icon.width).any(|x| icon.pixels[((y * icon.width + x) * 4 + 3) as usize] >= 128)
            })
            .collect();
        rows.last().map_or(0, |last| last - rows[0] + 1)
    }

    #[test]
    fn macos_templates_draw_a_16_pt_glyph_in_the_22_pt_menu_bar() {
        // tray-icon 0.26 shows an image taller than 22 px at 22 pt: 44 px → 2 px per point.
        // The system's own menu-bar symbols are about 16 pt tall; a taller glyph looks too big.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons");
        for name in [
            "connected",
            "starting",
            "disconnecting",
            "disconnected",
            "error",
        ] {
            for (suffix, canvas, glyph) in [("@2x", 44, 32), ("", 22, 16)] {
                let file = format!("{name}-template{suffix}.png");
                let icon = decode(&std::fs::read(dir.join(&file)).expect("read")).expect("decode");
                assert_eq!((icon.width, icon.height), (canvas, canvas), "{file}");
                let height = glyph_height(&icon);
                assert!(
                    height.abs_diff(glyph) <= 1,
                    "{file}: glyph {height} px tall, want {glyph}"
                );
            }
        }
    }

    #[test]
    fn template_images_are_black_and_alpha_only() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons");
        for entry in std::fs::read_dir(dir).expect("icons") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !name.contains("-template") {
                continue;
            }
            let icon = decode(&std::fs::read(&path).expect("read")).expect("decode");
            for px in icon.pixels.chunks_exact(4) {
                assert!(px[0] == 0 && px[1] == 0 && px[2] == 0, "{name} has colour");
            }
        }
    }
}
