//! A tool's answer as JSON text, written straight from its typed output:
//! byte for byte what `serde_json::to_value`, then
//! [`Redactor::redact_json`], then `to_string` give — compact, the keys of
//! every object in sorted order (a `Value` keeps its objects in a
//! `BTreeMap`), every string value redacted (keys are not) — without
//! building the `Value` tree, its copies of every key and string, and
//! freeing it again. That round trip was most of the CPU a small tool call
//! cost (BENCHMARKS.md).
//!
//! Objects are written in place as they come; one whose fields were not in
//! sorted order is rewritten once it ends. Strings are written as they are
//! while all of them are gathered, and one check of them all (see
//! [`Redactor::checks_joined_strings`]) usually finds nothing to hide;
//! otherwise, or when the patterns do not allow that check, the value is
//! written again with each string redacted on its own.
//!
//! Anything this writer does not handle (map keys other than strings,
//! characters and integers; 128-bit numbers; serde_json's private raw-value
//! and number types) is an error, and the caller then takes the `Value`
//! path, which gives the same bytes or the same error as always.

use std::borrow::Cow;

use serde::ser::{self, Impossible, Serialize};
use serde_json::Error;

use crate::access::Redactor;

/// `value` as compact JSON with sorted object keys and redacted strings.
pub fn to_json<T: Serialize + ?Sized>(value: &T, redactor: &Redactor) -> Result<String, Error> {
    if redactor.checks_joined_strings() {
        let mut writer = Writer::new(redactor, Some(String::with_capacity(512)));
        value.serialize(&mut writer)?;
        if redactor.hides_nothing_in_joined(writer.joined.as_deref().unwrap_or_default()) {
            return writer.finish();
        }
    }
    let mut writer = Writer::new(redactor, None);
    value.serialize(&mut writer)?;
    writer.finish()
}

/// The error that sends a value down the `Value` path.
fn unsupported(what: &str) -> Error {
    ser::Error::custom(format!("canonical JSON writer: {what} not supported"))
}

struct Writer<'r> {
    out: Vec<u8>,
    redactor: &'r Redactor,
    /// `Some`: strings are written unredacted and gathered here, each
    /// followed by `\n`, for one check at the end. `None`: each string is
    /// redacted as it is written.
    joined: Option<String>,
}

impl<'r> Writer<'r> {
    fn new(redactor: &'r Redactor, joined: Option<String>) -> Writer<'r> {
        Writer {
            out: Vec::with_capacity(1024),
            redactor,
            joined,
        }
    }

    fn finish(self) -> Result<String, Error> {
        // Everything written is valid UTF-8: JSON punctuation, numbers, and
        // strings escaped by serde_json.
        String::from_utf8(self.out).map_err(ser::Error::custom)
    }

    /// A leaf value as serde_json writes it.
    fn leaf<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        serde_json::to_writer(&mut self.out, value)
    }

    /// A string value: gathered or redacted, then escaped.
    fn string(&mut self, text: &str) -> Result<(), Error> {
        if let Some(joined) = &mut self.joined {
            joined.push_str(text);
            joined.push('\n');
            return self.leaf(text);
        }
        let redacted = self.redactor.redact_cow(text);
        self.leaf(redacted.as_ref())
    }

    /// Starts `{"variant":` (the object serde_json makes of an enum
    /// variant with data), closed by `}` when the variant ends.
    fn open_variant(&mut self, variant: &'static str) -> Result<(), Error> {
        self.out.push(b'{');
        self.leaf(variant)?;
        self.out.push(b':');
        Ok(())
    }
}

impl<'a, 'r> ser::Serializer for &'a mut Writer<'r> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a, 'r>;
    type SerializeTuple = Seq<'a, 'r>;
    type SerializeTupleStruct = Seq<'a, 'r>;
    type SerializeTupleVariant = Seq<'a, 'r>;
    type SerializeMap = Object<'a, 'r>;
    type SerializeStruct = Object<'a, 'r>;
    type SerializeStructVariant = Object<'a, 'r>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.leaf(&v)
    }
    fn serialize_i128(self, _v: i128) -> Result<(), Error> {
        Err(unsupported("i128"))
    }
    fn serialize_u128(self, _v: u128) -> Result<(), Error> {
        Err(unsupported("u128"))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // A `Value` keeps an f32 as the f64 of the same value (0.1f32 is
        // written 0.10000000149011612).
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        // NaN and infinity are written null, as a `Value` holds them.
        self.leaf(&v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // An array of numbers, as a `Value` holds bytes.
        self.leaf(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        // A string value like any other, so redacted like any other.
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a, 'r>, Error> {
        self.out.push(b'[');
        Ok(Seq {
            writer: self,
            first: true,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a, 'r>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a, 'r>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'a, 'r>, Error> {
        self.open_variant(variant)?;
        let mut seq = self.serialize_seq(Some(len))?;
        seq.variant = true;
        Ok(seq)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a, 'r>, Error> {
        Ok(Object::open(self, len.unwrap_or(8), false))
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Object<'a, 'r>, Error> {
        if name.starts_with("$serde_json::private::") {
            return Err(unsupported(name));
        }
        Ok(Object::open(self, len, false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Object<'a, 'r>, Error> {
        self.open_variant(variant)?;
        Ok(Object::open(self, len, true))
    }
}

/// An array in progress (or the array of a tuple variant).
pub struct Seq<'a, 'r> {
    writer: &'a mut Writer<'r>,
    first: bool,
    variant: bool,
}

impl Seq<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Result<(), Error> {
        self.writer.out.push(b']');
        if self.variant {
            self.writer.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTuple for Seq<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Seq<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Seq<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// One `"key":value` of an object being written: its key and where the
/// whole member lies in the output.
struct Member {
    key: Cow<'static, str>,
    start: usize,
    end: usize,
}

/// An object in progress (or the object of a struct variant). Members are
/// written in the order they come, separated by commas; [`Object::close`]
/// puts them in key order when they were not.
pub struct Object<'a, 'r> {
    writer: &'a mut Writer<'r>,
    /// Where the object's `{` is.
    start: usize,
    members: Vec<Member>,
    /// The key given by `serialize_key`, waiting for its value.
    pending: Option<Cow<'static, str>>,
    variant: bool,
}

impl<'a, 'r> Object<'a, 'r> {
    fn open(writer: &'a mut Writer<'r>, len: usize, variant: bool) -> Object<'a, 'r> {
        let start = writer.out.len();
        writer.out.push(b'{');
        Object {
            writer,
            start,
            members: Vec::with_capacity(len),
            pending: None,
            variant,
        }
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Error> {
        if !self.members.is_empty() {
            self.writer.out.push(b',');
        }
        let start = self.writer.out.len();
        // Keys are escaped like strings but never redacted.
        self.writer.leaf(key.as_ref())?;
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)?;
        let end = self.writer.out.len();
        self.members.push(Member { key, start, end });
        Ok(())
    }

    fn close(mut self) -> Result<(), Error> {
        let in_order = self.members.windows(2).all(|w| w[0].key < w[1].key);
        if !in_order {
            // Sort by key; of members with the same key the last one
            // counts, as a later insert replaces an earlier one in a map.
            self.members.sort_by(|a, b| a.key.cmp(&b.key));
            let mut kept: Vec<&Member> = Vec::with_capacity(self.members.len());
            for member in &self.members {
                match kept.last_mut() {
                    Some(last) if last.key == member.key => *last = member,
                    _ => kept.push(member),
                }
            }
            let out = &mut self.writer.out;
            let mut sorted = Vec::with_capacity(out.len() - self.start);
            sorted.push(b'{');
            for (i, member) in kept.iter().enumerate() {
                if i > 0 {
                    sorted.push(b',');
                }
                sorted.extend_from_slice(&out[member.start..member.end]);
            }
            out.truncate(self.start);
            out.extend_from_slice(&sorted);
        }
        self.writer.out.push(b'}');
        if self.variant {
            self.writer.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.pending = Some(Cow::Owned(key.serialize(KeyWriter)?));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .pending
            .take()
            .ok_or_else(|| unsupported("a map value without a key"))?;
        self.member(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStruct for Object<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// Map keys as a `Value` makes them: strings and characters as they are,
/// integers in decimal; other kinds are left to the `Value` path.
struct KeyWriter;

impl ser::Serializer for KeyWriter {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, _v: bool) -> Result<String, Error> {
        Err(unsupported("a boolean map key"))
    }
    fn serialize_i128(self, _v: i128) -> Result<String, Error> {
        Err(unsupported("an i128 map key"))
    }
    fn serialize_u128(self, _v: u128) -> Result<String, Error> {
        Err(unsupported("a u128 map key"))
    }
    fn serialize_f32(self, _v: f32) -> Result<String, Error> {
        Err(unsupported("a float map key"))
    }
    fn serialize_f64(self, _v: f64) -> Result<String, Error> {
        Err(unsupported("a float map key"))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(unsupported("a bytes map key"))
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(unsupported("a null map key"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, Error> {
        Err(unsupported("an optional map key"))
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(unsupported("a unit map key"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(unsupported("a unit map key"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<String, Error> {
        Err(unsupported("an enum map key"))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(unsupported("an enum map key"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("a sequence map key"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("a tuple map key"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("a tuple map key"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("an enum map key"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(unsupported("a map as a map key"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(unsupported("a struct map key"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("an enum map key"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{Value, json};

    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(
            &[r"sk-[a-z0-9]{8}".to_string()],
            vec!["hunter2-long".into()],
        )
        .unwrap()
    }

    /// What `dispatch::call` gave before this writer, and still gives on
    /// the `Value` path.
    fn by_value<T: Serialize + ?Sized>(value: &T, redactor: &Redactor) -> String {
        let mut v = serde_json::to_value(value).unwrap();
        redactor.redact_json(&mut v);
        v.to_string()
    }

    /// One redactor whose patterns allow the joined check, one whose
    /// pattern (anchored at the text's start) does not.
    fn redactors() -> &'static [Redactor; 2] {
        static REDACTORS: std::sync::OnceLock<[Redactor; 2]> = std::sync::OnceLock::new();
        REDACTORS.get_or_init(|| {
            let anchored =
                Redactor::new(&[r"^hunter\d".to_string()], vec!["hunter2-long".into()]).unwrap();
            assert!(redactor().checks_joined_strings() && !anchored.checks_joined_strings());
            [redactor(), anchored]
        })
    }

    fn same_bytes<T: Serialize + ?Sized>(value: &T) {
        for r in redactors() {
            assert_eq!(to_json(value, r).unwrap(), by_value(value, r));
        }
    }

    #[derive(Serialize)]
    struct Bytes<'a>(#[serde(serialize_with = "as_bytes")] &'a [u8]);

    fn as_bytes<S: serde::Serializer>(v: &&[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Meters(f64);

    #[derive(Serialize)]
    struct Pair(u8, char);

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Dot,
        #[serde(rename = "password=open")]
        Open,
        Circle(f32),
        Line(i32, i32),
        Box {
            width: u16,
            height: u16,
            label: String,
        },
    }

    #[derive(Serialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    enum Tagged {
        Shell { name: String },
        Ssh { host: String, port: u16 },
    }

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }

    #[derive(Serialize)]
    struct Extra {
        zeta: bool,
        output: &'static str,
    }

    /// Fields out of key order, with every kind of member a tool output
    /// could have.
    #[derive(Serialize)]
    struct Everything {
        zebra: u64,
        alpha: String,
        #[serde(rename = "Upper")]
        upper: Option<String>,
        missing: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<i64>,
        list: Vec<Shape>,
        tagged: Vec<Tagged>,
        either: [Either; 2],
        pair: Pair,
        tuple: (i8, &'static str, ()),
        unit: Unit,
        meters: Meters,
        floats: [f32; 4],
        doubles: [f64; 4],
        bytes: Bytes<'static>,
        by_number: HashMap<u32, String>,
        by_name: BTreeMap<String, Value>,
        #[serde(flatten)]
        extra: Extra,
        value: Value,
        c: char,
    }

    fn everything() -> Everything {
        Everything {
            zebra: u64::MAX,
            alpha: "quote \" backslash \\ newline \n tab \t bell \u{7} é → データ \u{2028}".into(),
            upper: Some("password=hunter22 and sk-abcd1234".into()),
            missing: None,
            skipped: None,
            list: vec![
                Shape::Dot,
                Shape::Open,
                Shape::Circle(0.1),
                Shape::Line(-3, 4),
                Shape::Box {
                    width: 80,
                    height: 24,
                    label: "token: abc".into(),
                },
            ],
            tagged: vec![
                Tagged::Shell { name: "a".into() },
                Tagged::Ssh {
                    host: "h".into(),
                    port: 22,
                },
            ],
            either: [Either::Number(-7), Either::Text("hunter2-long!".into())],
            pair: Pair(7, '"'),
            tuple: (-1, "x", ()),
            unit: Unit,
            meters: Meters(1e300),
            floats: [0.1, f32::NAN, f32::INFINITY, -0.0],
            doubles: [2.5, f64::NAN, f64::NEG_INFINITY, 1e-7],
            bytes: Bytes(b"\x00\xffA"),
            by_number: (0..20).map(|n| (n * 7, format!("v{n}"))).collect(),
            by_name: [
                ("b".to_string(), json!({"z": 1, "a": [true, null]})),
                ("a\"key".to_string(), json!("secret=s3cr3t")),
                ("password=x".to_string(), json!(1.5)),
            ]
            .into_iter()
            .collect(),
            extra: Extra {
                zeta: true,
                output: "AKIAABCDEFGHIJKLMNOP",
            },
            value: json!([{"y": 2, "x": {"d": "sk-abcd1234", "c": []}}]),
            c: 'é',
        }
    }

    #[test]
    fn every_kind_of_member_gives_the_bytes_of_the_value_path() {
        let e = everything();
        same_bytes(&e);
        // Secrets in values are hidden, keys are left alone.
        let json = to_json(&e, &redactor()).unwrap();
        for hidden in [
            "hunter22",
            "sk-abcd1234",
            "s3cr3t",
            "hunter2-long",
            "AKIA",
            "abc\"",
        ] {
            assert!(!json.contains(hidden), "{hidden} in {json}");
        }
        assert!(json.contains(r#""password=x":1.5"#), "{json}");
        // f32 as a Value holds it: the f64 of the same number.
        assert!(json.contains(r#""circle":0.10000000149011612"#), "{json}");
        for scalar in [json!(null), json!("sk-abcd1234"), json!(-1), json!(0.5)] {
            same_bytes(&scalar);
        }
        // Each string is checked within its own edges: `\b` before
        // `password` holds at the start of a string, whatever came before.
        same_bytes(&["a", "password=b"]);
        same_bytes(&json!({"a": "x", "b": "token: y"}));
        same_bytes(&Unit);
        same_bytes(&Shape::Dot);
        same_bytes(&Vec::<u8>::new());
    }

    #[test]
    fn what_the_writer_does_not_handle_is_an_error_not_different_bytes() {
        let r = redactor();
        let bool_keys: HashMap<bool, u8> = [(true, 1)].into_iter().collect();
        assert!(to_json(&bool_keys, &r).is_err());
        assert!(to_json(&(1u128 << 100), &r).is_err());
        assert!(to_json(&7i128, &r).is_err());
        // serde_json's own raw-value and number tokens (features some
        // dependency could turn on) are left to serde_json.
        struct Private;
        impl Serialize for Private {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let name = "$serde_json::private::RawValue";
                let mut st = s.serialize_struct(name, 1)?;
                st.serialize_field(name, "{\"b\":1,\"a\":2}")?;
                st.end()
            }
        }
        assert!(to_json(&Private, &r).is_err());
    }

    /// A map whose entries come in the given order, duplicates included
    /// (as a `#[serde(flatten)]` of clashing fields would give them).
    struct Entries(Vec<(String, Value)>);

    impl Serialize for Entries {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    fn text() -> impl Strategy<Value = String> {
        let fragment = prop::sample::select(vec![
            "a",
            "b",
            "B",
            "é",
            "\"",
            "\\",
            "\n",
            "\u{1}",
            "password=",
            "pw1",
            "sk-abcd1234",
            "hunter2-long",
            " ",
            "token: ",
            "データ",
        ]);
        prop::collection::vec(fragment, 0..5).prop_map(|parts| parts.concat())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Maps in any order, with repeated keys, holding any JSON: the
        /// same bytes as the `Value` path (sorted, last duplicate wins).
        #[test]
        fn maps_in_any_order_give_the_bytes_of_the_value_path(
            entries in prop::collection::vec((text(), value()), 0..8),
            floats in prop::collection::vec(any::<f32>(), 0..4),
        ) {
            let map = Entries(entries);
            for r in redactors() {
                prop_assert_eq!(to_json(&map, r).unwrap(), by_value(&map, r));
                prop_assert_eq!(to_json(&floats, r).unwrap(), by_value(&floats, r));
            }
        }
    }
}
