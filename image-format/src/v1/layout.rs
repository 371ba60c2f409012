//! How a record is declared: once, as its fields in file order.
//!
//! `record!` turns one declaration into
//! * the decoded type (native integers and enums, no reserved bytes),
//! * its wire struct: little-endian zerocopy fields at the offsets the
//!   declaration implies (`repr(C)`, alignment 1, no padding), so decoding
//!   is `FromBytes` and encoding is `IntoBytes`,
//! * `decode` (None when a code field, e.g. an enum, is out of range),
//!   `to_wire`, the reserved-byte check `reserved_zero`,
//! * `FIELDS`: name, offset, size and shape of every field, for tools that
//!   walk records (the hostile-image mutator) and for the test that checks
//!   FORMAT.md's tables.
//!
//! Field kinds in a declaration:
//! * `pub name: Type,` a field of the decoded type (`Type: Value`);
//! * `wire name: Type,` a field only the bytes have (magic, CRCs, lengths
//!   the reader checks and the writer fills in);
//! * `reserved name: N,` N reserved bytes: zero when written, refused
//!   (`reserved-not-zero`) when not.

use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Unaligned};

/// What a field holds, for tools that walk records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A little-endian integer or enum code.
    Int,
    /// Bytes with a meaning of their own (magic, NUL-padded strings).
    Bytes,
    /// Reserved bytes.
    Reserved,
    /// `count` nested records back to back, each laid out as `fields`.
    Records {
        /// The nested record's fields.
        fields: &'static [Field],
        /// How many of them.
        count: usize,
    },
}

/// One field of a declared record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Name in the declaration.
    pub name: &'static str,
    /// Byte offset in the record.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// What it holds.
    pub shape: Shape,
}

/// A type that can be a field of a record: its wire form.
pub trait Wire {
    /// Wire representation: little endian, alignment 1.
    type Repr: FromBytes + IntoBytes + KnownLayout + Immutable + Unaligned + Copy;
    /// Shape of the field, for `Field`.
    const SHAPE: Shape;
    /// True when the reserved bytes inside `r` (if any) are zero.
    fn reserved_zero(_r: &Self::Repr) -> bool {
        true
    }
}

/// A field type of a decoded record: converts from and to its wire form.
pub trait Value: Wire + Sized {
    /// None when the wire value has no meaning (an unknown code).
    fn decode(r: &Self::Repr) -> Option<Self>;
    /// The wire form of the value.
    fn encode(&self) -> Self::Repr;
}

macro_rules! int_wire {
    ($($t:ty => $repr:ty),*) => {$(
        impl Wire for $t {
            type Repr = $repr;
            const SHAPE: Shape = Shape::Int;
        }
        impl Value for $t {
            fn decode(r: &$repr) -> Option<$t> {
                Some(r.get())
            }
            fn encode(&self) -> $repr {
                <$repr>::new(*self)
            }
        }
    )*};
}
int_wire!(u16 => U16, u32 => U32, u64 => U64, i64 => I64);

/// A flag stored as a u32 that must be 0 or 1.
impl Wire for bool {
    type Repr = U32;
    const SHAPE: Shape = Shape::Int;
}

impl Value for bool {
    fn decode(r: &U32) -> Option<bool> {
        match r.get() {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn encode(&self) -> U32 {
        U32::new(u32::from(*self))
    }
}

/// Raw bytes (NUL-padded strings, magic numbers).
impl<const N: usize> Wire for [u8; N] {
    type Repr = [u8; N];
    const SHAPE: Shape = Shape::Bytes;
}

impl<const N: usize> Value for [u8; N] {
    fn decode(r: &[u8; N]) -> Option<[u8; N]> {
        Some(*r)
    }
    fn encode(&self) -> [u8; N] {
        *self
    }
}

/// An array of nested records (the resource limits).
impl<T: Wire, const N: usize> Wire for [T; N] {
    type Repr = [T::Repr; N];
    const SHAPE: Shape = match T::SHAPE {
        Shape::Records { fields, .. } => Shape::Records { fields, count: N },
        other => other,
    };
    fn reserved_zero(r: &Self::Repr) -> bool {
        r.iter().all(T::reserved_zero)
    }
}

impl<T: Value + Copy + Default, const N: usize> Value for [T; N] {
    fn decode(r: &Self::Repr) -> Option<[T; N]> {
        let mut out = [T::default(); N];
        for (o, w) in out.iter_mut().zip(r.iter()) {
            *o = T::decode(w)?;
        }
        Some(out)
    }
    fn encode(&self) -> Self::Repr {
        let mut out = [T::Repr::new_zeroed(); N];
        for (o, v) in out.iter_mut().zip(self.iter()) {
            *o = v.encode();
        }
        out
    }
}

/// `N` reserved bytes (only in declarations; never a decoded value).
pub struct Reserved<const N: usize>;

impl<const N: usize> Wire for Reserved<N> {
    type Repr = [u8; N];
    const SHAPE: Shape = Shape::Reserved;
    fn reserved_zero(r: &[u8; N]) -> bool {
        r.iter().all(|&b| b == 0)
    }
}

/// Declares an enum stored as a u32 code: the enum, `from_u32` and its
/// `Value` impl, from one list of variants and codes.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vm:meta])* $v:ident = $code:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vm])* $v = $code, )*
        }

        impl $name {
            /// Every variant, in code order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// Decodes a code.
            pub fn from_u32(v: u32) -> Option<$name> {
                match v {
                    $( $code => Some($name::$v), )*
                    _ => None,
                }
            }
        }

        impl super::layout::Wire for $name {
            type Repr = ::zerocopy::little_endian::U32;
            const SHAPE: super::layout::Shape = super::layout::Shape::Int;
        }

        impl super::layout::Value for $name {
            fn decode(r: &::zerocopy::little_endian::U32) -> Option<$name> {
                $name::from_u32(r.get())
            }
            fn encode(&self) -> ::zerocopy::little_endian::U32 {
                ::zerocopy::little_endian::U32::new(*self as u32)
            }
        }
    };
}
pub(super) use code_enum;

/// Declares a record; see the module documentation. The declaration's
/// `[SIZE]` is checked at compile time against the wire struct.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $wire:ident [$size:expr] { $($body:tt)* }
    ) => {
        record!(@split [$(#[$meta])* $name $wire $size] [] [] $($body)*);
    };
    (@split $head:tt [$($n:tt)*] [$($a:tt)*]
        $(#[$fm:meta])* pub $f:ident : $t:ty, $($rest:tt)*) => {
        record!(@split $head [$($n)* [$(#[$fm])* $f: $t]] [$($a)* [$f: $t]] $($rest)*);
    };
    (@split $head:tt [$($n:tt)*] [$($a:tt)*]
        $(#[$fm:meta])* wire $f:ident : $t:ty, $($rest:tt)*) => {
        record!(@split $head [$($n)*] [$($a)* [$f: $t]] $($rest)*);
    };
    (@split $head:tt [$($n:tt)*] [$($a:tt)*]
        reserved $f:ident : $len:literal, $($rest:tt)*) => {
        record!(@split $head [$($n)*] [$($a)* [$f: super::layout::Reserved<$len>]] $($rest)*);
    };
    (@split [$(#[$meta:meta])* $name:ident $wire:ident $size:expr]
        [$([$(#[$fm:meta])* $nf:ident: $nt:ty])*]
        [$([$af:ident: $at:ty])*]) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fm])* pub $nf: $nt, )*
        }

        #[doc = concat!("The bytes of a [`", stringify!($name), "`] record, field by field.")]
        #[derive(
            ::zerocopy::FromBytes, ::zerocopy::IntoBytes, ::zerocopy::KnownLayout,
            ::zerocopy::Immutable, ::zerocopy::Unaligned, Clone, Copy, Debug, PartialEq, Eq,
        )]
        #[repr(C)]
        #[allow(missing_docs)]
        pub struct $wire {
            $( pub $af: <$at as super::layout::Wire>::Repr, )*
        }

        const _: () = assert!(core::mem::size_of::<$wire>() == $size);

        impl $wire {
            /// Every field in file order.
            pub const FIELDS: &'static [super::layout::Field] = &[$(
                super::layout::Field {
                    name: stringify!($af),
                    offset: core::mem::offset_of!($wire, $af),
                    size: core::mem::size_of::<<$at as super::layout::Wire>::Repr>(),
                    shape: <$at as super::layout::Wire>::SHAPE,
                },
            )*];

            /// True when every reserved byte is zero.
            pub fn reserved_zero(&self) -> bool {
                true $( && <$at as super::layout::Wire>::reserved_zero(&self.$af) )*
            }

            /// The decoded record; None if a code field is out of range.
            pub fn decode(&self) -> Option<$name> {
                Some($name {
                    $( $nf: <$nt as super::layout::Value>::decode(&self.$nf)?, )*
                })
            }
        }

        impl $name {
            /// The record's bytes; `wire` fields and reserved bytes are zero.
            pub fn to_wire(&self) -> $wire {
                let mut w = <$wire as ::zerocopy::FromZeros>::new_zeroed();
                $( w.$nf = <$nt as super::layout::Value>::encode(&self.$nf); )*
                w
            }
        }

        impl super::layout::Wire for $name {
            type Repr = $wire;
            const SHAPE: super::layout::Shape =
                super::layout::Shape::Records { fields: $wire::FIELDS, count: 1 };
            fn reserved_zero(r: &$wire) -> bool {
                r.reserved_zero()
            }
        }

        impl super::layout::Value for $name {
            fn decode(r: &$wire) -> Option<$name> {
                r.decode()
            }
            fn encode(&self) -> $wire {
                self.to_wire()
            }
        }
    };
}
pub(super) use record;

/// The wire struct at the start of `b`, or None if `b` is too short.
pub fn wire_prefix<T: FromBytes + KnownLayout + Immutable>(b: &[u8]) -> Option<&T> {
    T::ref_from_prefix(b).ok().map(|(t, _)| t)
}

/// `b` as a slice of wire structs, or None if its length is not a multiple.
pub fn wire_slice<T: FromBytes + Immutable>(b: &[u8]) -> Option<&[T]> {
    <[T]>::ref_from_bytes(b).ok()
}
