//! The contract listing: a readable, sorted account of what a compiled descriptor set declares
//! (packages, messages and their fields, enums and their values, services and their methods,
//! reservations), written to and read from the committed baseline as JSON.
//!
//! Nested messages and enums are listed under their full names (`pkg.Outer.Inner`). Map fields
//! are listed as one field of cardinality `map` with a `key_type`; their synthetic entry
//! messages are not listed. Type names carry no leading dot. The synthetic oneof that proto3
//! `optional` creates is not listed as a oneof: the field's cardinality says `optional`.

use std::collections::BTreeMap;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet,
    ServiceDescriptorProto,
};
use serde::{Deserialize, Serialize};

/// What the baseline's `generated_by` says, so a reader of the JSON knows where it comes from.
pub const GENERATED_BY: &str = "cargo run -p xtask -- proto-compat --update (do not edit by hand)";

/// Everything a set of proto files declares, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractListing {
    /// Always [`GENERATED_BY`].
    pub generated_by: String,
    /// Packages by name.
    pub packages: Vec<PackageListing>,
}

/// One proto package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageListing {
    /// The package name, e.g. `kruispunt.v1`.
    pub name: String,
    /// Messages by full name, nested ones included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageListing>,
    /// Enums by full name, nested ones included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<EnumListing>,
    /// Services by full name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceListing>,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageListing {
    /// Full name, e.g. `kruispunt.v1.Checkpoint`.
    pub name: String,
    /// Fields by number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldListing>,
    /// Reserved field numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved_numbers: Vec<NumberRange>,
    /// Reserved field names, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved_names: Vec<String>,
}

/// One field of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldListing {
    /// The field number (the wire identity).
    pub number: i32,
    /// The field name (the JSON and generated-code identity).
    pub name: String,
    /// The scalar type (`string`, `uint64`, …), or `message` / `enum`; for a map, the value's.
    #[serde(rename = "type")]
    pub field_type: String,
    /// The message or enum type's full name, when `type` is `message` or `enum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// `singular` (proto3 implicit presence), `optional` (explicit presence), `repeated`,
    /// `map` or `required`.
    pub cardinality: String,
    /// For a map, the key's scalar type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// The oneof the field belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oneof: Option<String>,
}

/// One enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumListing {
    /// Full name, e.g. `kruispunt.v1.Role`.
    pub name: String,
    /// Values by number, then name (aliases share a number).
    pub values: Vec<EnumValueListing>,
    /// Reserved value numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved_numbers: Vec<NumberRange>,
    /// Reserved value names, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved_names: Vec<String>,
}

/// One enum value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValueListing {
    /// The value number.
    pub number: i32,
    /// The value name.
    pub name: String,
}

/// An inclusive range of reserved numbers (`reserved 5;` is `5..=5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    /// First reserved number.
    pub first: i32,
    /// Last reserved number.
    pub last: i32,
}

impl NumberRange {
    /// Whether `number` lies in the range.
    pub fn contains(&self, number: i32) -> bool {
        (self.first..=self.last).contains(&number)
    }
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceListing {
    /// Full name, e.g. `kruispunt.v1.Exchange`.
    pub name: String,
    /// Methods by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<MethodListing>,
}

/// One method of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodListing {
    /// The method name.
    pub name: String,
    /// The request message's full name.
    pub input: String,
    /// The response message's full name.
    pub output: String,
    /// Whether the client sends a stream.
    pub client_streaming: bool,
    /// Whether the server answers with a stream.
    pub server_streaming: bool,
}

impl ContractListing {
    /// Lists every file of `descriptor_set`. Imported files belong in the set only if they are
    /// part of the contract; compile without imports to leave them out.
    pub fn of(descriptor_set: &FileDescriptorSet) -> Self {
        let mut packages: BTreeMap<String, PackageListing> = BTreeMap::new();
        for file in &descriptor_set.file {
            let package_name = file.package().to_owned();
            let package = packages
                .entry(package_name.clone())
                .or_insert_with(|| PackageListing {
                    name: package_name.clone(),
                    messages: Vec::new(),
                    enums: Vec::new(),
                    services: Vec::new(),
                });
            let proto3 = file.syntax() == "proto3";
            for message in &file.message_type {
                list_message(&package_name, message, proto3, package);
            }
            for enumeration in &file.enum_type {
                package.enums.push(list_enum(&package_name, enumeration));
            }
            for service in &file.service {
                package.services.push(list_service(&package_name, service));
            }
        }
        let mut packages: Vec<PackageListing> = packages.into_values().collect();
        for package in &mut packages {
            package.messages.sort_by(|a, b| a.name.cmp(&b.name));
            package.enums.sort_by(|a, b| a.name.cmp(&b.name));
            package.services.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Self {
            generated_by: GENERATED_BY.to_owned(),
            packages,
        }
    }

    /// The baseline text: pretty JSON with a final newline.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| unreachable!("a listing always serializes: {error}"));
        text.push('\n');
        text
    }

    /// Parses a baseline written by [`ContractListing::render`].
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// `a.b` joined with a dot, or `b` alone when `a` is empty (the package may be empty).
fn qualified(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

/// A type name as the listing shows it: the descriptor's, without the leading dot.
fn type_name_of(descriptor_type_name: &str) -> String {
    descriptor_type_name
        .strip_prefix('.')
        .unwrap_or(descriptor_type_name)
        .to_owned()
}

/// `TYPE_STRING` → `string`.
fn scalar_name(field_type: Type) -> String {
    let name = field_type.as_str_name();
    name.strip_prefix("TYPE_").unwrap_or(name).to_lowercase()
}

/// Adds `message`, its nested messages (map entries excepted) and its nested enums.
fn list_message(
    scope: &str,
    message: &DescriptorProto,
    proto3: bool,
    package: &mut PackageListing,
) {
    let full_name = qualified(scope, message.name());
    let map_entries: BTreeMap<String, &DescriptorProto> = message
        .nested_type
        .iter()
        .filter(|nested| {
            nested
                .options
                .as_ref()
                .is_some_and(|options| options.map_entry())
        })
        .map(|nested| (qualified(&full_name, nested.name()), nested))
        .collect();
    let mut fields: Vec<FieldListing> = message
        .field
        .iter()
        .map(|field| list_field(message, field, proto3, &map_entries))
        .collect();
    fields.sort_by_key(|field| field.number);
    let mut reserved_numbers: Vec<NumberRange> = message
        .reserved_range
        .iter()
        // Message reserved ranges are end-exclusive in descriptors.
        .map(|range| NumberRange {
            first: range.start(),
            last: range.end() - 1,
        })
        .collect();
    reserved_numbers.sort();
    let mut reserved_names = message.reserved_name.clone();
    reserved_names.sort();
    package.messages.push(MessageListing {
        name: full_name.clone(),
        fields,
        reserved_numbers,
        reserved_names,
    });
    for nested in &message.nested_type {
        if !map_entries.contains_key(&qualified(&full_name, nested.name())) {
            list_message(&full_name, nested, proto3, package);
        }
    }
    for enumeration in &message.enum_type {
        package.enums.push(list_enum(&full_name, enumeration));
    }
}

fn list_field(
    message: &DescriptorProto,
    field: &FieldDescriptorProto,
    proto3: bool,
    map_entries: &BTreeMap<String, &DescriptorProto>,
) -> FieldListing {
    let type_name = field.type_name.as_deref().map(type_name_of);
    let map_entry = type_name
        .as_ref()
        .filter(|_| field.label() == Label::Repeated)
        .and_then(|name| map_entries.get(name));
    let oneof = field
        .oneof_index
        .filter(|_| !field.proto3_optional())
        .and_then(|index| usize::try_from(index).ok())
        .and_then(|index| message.oneof_decl.get(index))
        .map(|oneof| oneof.name().to_owned());
    if let Some(entry) = map_entry {
        let key = entry
            .field
            .iter()
            .find(|entry_field| entry_field.number() == 1);
        let value = entry
            .field
            .iter()
            .find(|entry_field| entry_field.number() == 2);
        return FieldListing {
            number: field.number(),
            name: field.name().to_owned(),
            field_type: value.map_or_else(String::new, |value| scalar_name(value.r#type())),
            type_name: value.and_then(|value| value.type_name.as_deref().map(type_name_of)),
            cardinality: "map".to_owned(),
            key_type: key.map(|key| scalar_name(key.r#type())),
            oneof,
        };
    }
    let cardinality = match field.label() {
        Label::Repeated => "repeated",
        Label::Required => "required",
        Label::Optional if field.proto3_optional() || !proto3 => "optional",
        Label::Optional => "singular",
    };
    FieldListing {
        number: field.number(),
        name: field.name().to_owned(),
        field_type: scalar_name(field.r#type()),
        type_name,
        cardinality: cardinality.to_owned(),
        key_type: None,
        oneof,
    }
}

fn list_enum(scope: &str, enumeration: &EnumDescriptorProto) -> EnumListing {
    let mut values: Vec<EnumValueListing> = enumeration
        .value
        .iter()
        .map(|value| EnumValueListing {
            number: value.number(),
            name: value.name().to_owned(),
        })
        .collect();
    values.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    let mut reserved_numbers: Vec<NumberRange> = enumeration
        .reserved_range
        .iter()
        // Enum reserved ranges are end-inclusive in descriptors.
        .map(|range| NumberRange {
            first: range.start(),
            last: range.end(),
        })
        .collect();
    reserved_numbers.sort();
    let mut reserved_names = enumeration.reserved_name.clone();
    reserved_names.sort();
    EnumListing {
        name: qualified(scope, enumeration.name()),
        values,
        reserved_numbers,
        reserved_names,
    }
}

fn list_service(scope: &str, service: &ServiceDescriptorProto) -> ServiceListing {
    let mut methods: Vec<MethodListing> = service
        .method
        .iter()
        .map(|method| MethodListing {
            name: method.name().to_owned(),
            input: type_name_of(method.input_type()),
            output: type_name_of(method.output_type()),
            client_streaming: method.client_streaming(),
            server_streaming: method.server_streaming(),
        })
        .collect();
    methods.sort_by(|a, b| a.name.cmp(&b.name));
    ServiceListing {
        name: qualified(scope, service.name()),
        methods,
    }
}
