//! The menu-bar icon for each state, from the PNGs in `assets/icons/` (drawn by
//! `assets/make-icons.sh`). macOS gets template images (black + alpha, recoloured by the menu
//! bar for light and dark mode); Linux trays do not recolour, so they get the coloured ones.

use crate::model::Phase;

/// One of our PNGs, by name: on macOS the 2x template (which scales down crisply on 1x
/// screens), elsewhere the coloured one. tray-icon shows the 44 px template 22 pt tall, so its
/// 32 px glyph is 16 pt tall like the system's items (`assets/make-icons.sh` says why 44 px).
macro_rules! icon_png {
    ($name:literal) => {{
        #[cfg(target_os = "macos")]
        let png = include_bytes!(concat!("../../assets/icons/", $name, "-template@2x.png"));
        #[cfg(not(target_os = "macos"))]
        let png = include_bytes!(concat!("../../assets/icons/", $name, "-color.png"));
        png as &'static [u8]
    }};
}

/// The PNG bytes of the drawing `phase` shows on this platform: six drawings, the phases on the
/// way to one share it.
pub fn png(phase: Phase) -> &'static [u8] {
    match phase {
        Phase::Connected => icon_png!("connected"),
        Phase::Checking | Phase::Starting | Phase::Reconnecting => icon_png!("starting"),
        Phase::Disconnecting => icon_png!("disconnecting"),
        Phase::Disconnected => icon_png!("disconnected"),
        Phase::Paused | Phase::Stopping | Phase::ShuttingDown | Phase::Draining => {
            icon_png!("paused")
        }
        Phase::Error => icon_png!("error"),
    }
}

/// Decoded RGBA pixels, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Decodes one of our PNGs, which `assets/make-icons.sh` draws in 8-bit RGBA.
pub fn decode(png_bytes: &[u8]) -> Result<Rgba, String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    if (info.color_type, info.bit_depth) != (png::ColorType::Rgba, png::BitDepth::Eight) {
        return Err(format!(
            "{:?} {:?}, not 8-bit RGBA",
            info.color_type, info.bit_depth
        ));
    }
    pixels.truncate(info.buffer_size());
    Ok(Rgba {
        pixels,
        width: info.width,
        height: info.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A phase for each of the six drawings.
    const ALL: [Phase; 6] = [
        Phase::Connected,
        Phase::Starting,
        Phase::Disconnecting,
        Phase::Disconnected,
        Phase::Paused,
        Phase::Error,
    ];

    #[test]
    fn every_icon_decodes_to_a_square_with_transparency() {
        for phase in ALL {
            let icon = decode(png(phase)).expect("decodes");
            assert_eq!(icon.width, icon.height, "{phase:?}");
            assert_eq!(icon.pixels.len() as u32, icon.width * icon.height * 4);
            let alphas: Vec<u8> = icon.pixels.chunks_exact(4).map(|p| p[3]).collect();
            assert!(
                alphas.contains(&0),
                "{phase:?} has a transparent background"
            );
            assert!(alphas.contains(&255), "{phase:?} has an opaque shape");
        }
    }

    #[test]
    fn the_states_look_different() {
        let decoded: Vec<Vec<u8>> = ALL
            .iter()
            .map(|&k| decode(png(k)).expect("decodes").pixels)
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
