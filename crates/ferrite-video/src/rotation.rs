//! The display rotation a track's matrix asks for (phones record upright video as landscape
//! frames plus a 90-degree rotation).

use image::GrayImage;

/// Clockwise rotation applied to decoded frames before they are shown or analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    /// None.
    #[default]
    R0,
    /// A quarter turn clockwise.
    R90,
    /// A half turn.
    R180,
    /// Three quarter turns clockwise.
    R270,
}

impl Rotation {
    /// The rotation of a track header's matrix (`a b / c d`, 16.16 fixed point); anything but
    /// a whole quarter turn counts as none.
    pub fn from_matrix(a: i32, b: i32, c: i32, d: i32) -> Rotation {
        const ONE: i32 = 0x10000;
        match (a, b, c, d) {
            (0, ONE, m, 0) if m == -ONE => Rotation::R90,
            (m, 0, 0, n) if m == -ONE && n == -ONE => Rotation::R180,
            (0, m, ONE, 0) if m == -ONE => Rotation::R270,
            _ => Rotation::R0,
        }
    }

    /// The quarter turn nearest `degrees` clockwise (multiples of 90 only; anything else counts
    /// as none).
    pub fn from_degrees(degrees: u32) -> Rotation {
        match degrees % 360 {
            90 => Rotation::R90,
            180 => Rotation::R180,
            270 => Rotation::R270,
            _ => Rotation::R0,
        }
    }

    /// Degrees clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }

    /// `frame` turned by this rotation.
    pub fn apply(self, frame: GrayImage) -> GrayImage {
        match self {
            Rotation::R0 => frame,
            Rotation::R90 => image::imageops::rotate90(&frame),
            Rotation::R180 => image::imageops::rotate180(&frame),
            Rotation::R270 => image::imageops::rotate270(&frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_turns_are_read_from_the_matrix() {
        const ONE: i32 = 0x10000;
        assert_eq!(Rotation::from_matrix(ONE, 0, 0, ONE), Rotation::R0);
        assert_eq!(Rotation::from_matrix(0, ONE, -ONE, 0), Rotation::R90);
        assert_eq!(Rotation::from_matrix(-ONE, 0, 0, -ONE), Rotation::R180);
        assert_eq!(Rotation::from_matrix(0, -ONE, ONE, 0), Rotation::R270);
    }

    #[test]
    fn a_quarter_turn_swaps_the_sides() {
        let frame = GrayImage::from_fn(4, 2, |x, _| image::Luma([x as u8]));
        let turned = Rotation::R90.apply(frame);
        assert_eq!(turned.dimensions(), (2, 4));
        // Clockwise: the left column becomes the top row.
        assert_eq!(turned.get_pixel(0, 0).0[0], 0);
        assert_eq!(turned.get_pixel(0, 3).0[0], 3);
    }
}
