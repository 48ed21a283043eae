//! The compatibility rule: what may change between the baseline listing and today's.
//!
//! Refused, because an existing client or server built from the baseline would break:
//! a package, service, message, enum, method or enum value that is gone (a rename is a removal);
//! a field number now carrying another name; a field whose type, type name, cardinality, map key
//! type or oneof changed; a removed field whose number and name are not both reserved now; an
//! enum value with another number; a method whose input, output or streaming changed; a
//! reservation that was dropped (its number or name could then be reused).
//!
//! Passed, and reported: everything added (packages, services, methods, messages, fields, enums,
//! values, reservations), and a field or enum value removed with its number and name reserved.

use std::collections::BTreeMap;

use super::listing::{
    ContractListing, EnumListing, FieldListing, MessageListing, MethodListing, NumberRange,
    PackageListing, ServiceListing,
};

/// The outcome of comparing today's contract with the baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Changes that break the baseline's clients or servers, one line each.
    pub refusals: Vec<String>,
    /// Compatible changes (additions, removals behind reservations), one line each.
    pub compatible: Vec<String>,
}

impl Comparison {
    /// Whether nothing was refused.
    pub fn is_compatible(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// Compares today's listing with the baseline.
pub fn compare(baseline: &ContractListing, current: &ContractListing) -> Comparison {
    let mut comparison = Comparison::default();
    let current_packages = by_name(&current.packages, |package| &package.name);
    for package in &baseline.packages {
        match current_packages.get(package.name.as_str()) {
            None => comparison.refusals.push(format!(
                "package {} is gone (removed or renamed)",
                package.name
            )),
            Some(now) => compare_package(package, now, &mut comparison),
        }
    }
    let baseline_packages = by_name(&baseline.packages, |package| &package.name);
    for package in &current.packages {
        if !baseline_packages.contains_key(package.name.as_str()) {
            comparison
                .compatible
                .push(format!("package {} added", package.name));
        }
    }
    comparison
}

fn by_name<T>(items: &[T], name: impl Fn(&T) -> &String) -> BTreeMap<&str, &T> {
    items
        .iter()
        .map(|item| (name(item).as_str(), item))
        .collect()
}

fn compare_package(was: &PackageListing, now: &PackageListing, comparison: &mut Comparison) {
    let messages_now = by_name(&now.messages, |message| &message.name);
    for message in &was.messages {
        match messages_now.get(message.name.as_str()) {
            None => comparison.refusals.push(format!(
                "message {} is gone (removed or renamed)",
                message.name
            )),
            Some(message_now) => compare_message(message, message_now, comparison),
        }
    }
    let messages_was = by_name(&was.messages, |message| &message.name);
    for message in &now.messages {
        if !messages_was.contains_key(message.name.as_str()) {
            comparison
                .compatible
                .push(format!("message {} added", message.name));
        }
    }

    let enums_now = by_name(&now.enums, |enumeration| &enumeration.name);
    for enumeration in &was.enums {
        match enums_now.get(enumeration.name.as_str()) {
            None => comparison.refusals.push(format!(
                "enum {} is gone (removed or renamed)",
                enumeration.name
            )),
            Some(enum_now) => compare_enum(enumeration, enum_now, comparison),
        }
    }
    let enums_was = by_name(&was.enums, |enumeration| &enumeration.name);
    for enumeration in &now.enums {
        if !enums_was.contains_key(enumeration.name.as_str()) {
            comparison
                .compatible
                .push(format!("enum {} added", enumeration.name));
        }
    }

    let services_now = by_name(&now.services, |service| &service.name);
    for service in &was.services {
        match services_now.get(service.name.as_str()) {
            None => comparison.refusals.push(format!(
                "service {} is gone (removed or renamed)",
                service.name
            )),
            Some(service_now) => compare_service(service, service_now, comparison),
        }
    }
    let services_was = by_name(&was.services, |service| &service.name);
    for service in &now.services {
        if !services_was.contains_key(service.name.as_str()) {
            comparison
                .compatible
                .push(format!("service {} added", service.name));
        }
    }
}

fn compare_message(was: &MessageListing, now: &MessageListing, comparison: &mut Comparison) {
    let message = &was.name;
    let fields_now: BTreeMap<i32, &FieldListing> = now
        .fields
        .iter()
        .map(|field| (field.number, field))
        .collect();
    for field in &was.fields {
        match fields_now.get(&field.number) {
            None => compare_removed_field(message, field, now, comparison),
            Some(field_now) if field_now.name != field.name => comparison.refusals.push(format!(
                "{message}: field number {} was `{}` and is now `{}` (a field number never changes its name)",
                field.number, field.name, field_now.name
            )),
            Some(field_now) => compare_field(message, field, field_now, comparison),
        }
    }
    let numbers_was: BTreeMap<i32, &FieldListing> = was
        .fields
        .iter()
        .map(|field| (field.number, field))
        .collect();
    for field in &now.fields {
        if !numbers_was.contains_key(&field.number) {
            comparison.compatible.push(format!(
                "{message}: field {} `{}` added",
                field.number, field.name
            ));
        }
    }
    compare_reservations(
        message,
        "field",
        (&was.reserved_numbers, &was.reserved_names),
        (&now.reserved_numbers, &now.reserved_names),
        comparison,
    );
}

fn compare_removed_field(
    message: &str,
    field: &FieldListing,
    now: &MessageListing,
    comparison: &mut Comparison,
) {
    let number_reserved = now
        .reserved_numbers
        .iter()
        .any(|range| range.contains(field.number));
    let name_reserved = now.reserved_names.contains(&field.name);
    if number_reserved && name_reserved {
        comparison.compatible.push(format!(
            "{message}: field {} `{}` removed, its number and name reserved",
            field.number, field.name
        ));
        return;
    }
    let missing = match (number_reserved, name_reserved) {
        (false, false) => format!("reserved {}; reserved \"{}\";", field.number, field.name),
        (true, _) => format!("reserved \"{}\";", field.name),
        (_, true) => format!("reserved {};", field.number),
    };
    comparison.refusals.push(format!(
        "{message}: field {} `{}` removed without reserving it (add `{missing}`)",
        field.number, field.name
    ));
}

fn compare_field(
    message: &str,
    was: &FieldListing,
    now: &FieldListing,
    comparison: &mut Comparison,
) {
    let field = format!("{message}.{} ({})", was.name, was.number);
    let mut changed = |what: &str, before: String, after: String| {
        if before != after {
            comparison
                .refusals
                .push(format!("{field}: {what} changed from {before} to {after}"));
        }
    };
    let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".to_owned());
    changed("type", was.field_type.clone(), now.field_type.clone());
    changed("type name", shown(&was.type_name), shown(&now.type_name));
    changed(
        "cardinality",
        was.cardinality.clone(),
        now.cardinality.clone(),
    );
    changed("map key type", shown(&was.key_type), shown(&now.key_type));
    changed("oneof", shown(&was.oneof), shown(&now.oneof));
}

fn compare_enum(was: &EnumListing, now: &EnumListing, comparison: &mut Comparison) {
    let enumeration = &was.name;
    for value in &was.values {
        match now
            .values
            .iter()
            .find(|value_now| value_now.name == value.name)
        {
            Some(value_now) if value_now.number != value.number => {
                comparison.refusals.push(format!(
                    "{enumeration}: value `{}` changed its number from {} to {}",
                    value.name, value.number, value_now.number
                ));
            }
            Some(_) => {}
            None => {
                let number_reserved = now
                    .reserved_numbers
                    .iter()
                    .any(|range| range.contains(value.number));
                let name_reserved = now.reserved_names.contains(&value.name);
                let still_numbered = now.values.iter().any(|other| other.number == value.number);
                if number_reserved && name_reserved {
                    comparison.compatible.push(format!(
                        "{enumeration}: value {} `{}` removed, its number and name reserved",
                        value.number, value.name
                    ));
                } else if still_numbered {
                    comparison.refusals.push(format!(
                        "{enumeration}: value `{}` ({}) is gone; the number now has another name",
                        value.name, value.number
                    ));
                } else {
                    comparison.refusals.push(format!(
                        "{enumeration}: value `{}` ({}) removed without reserving its number and name",
                        value.name, value.number
                    ));
                }
            }
        }
    }
    for value in &now.values {
        if !was
            .values
            .iter()
            .any(|value_was| value_was.name == value.name)
        {
            comparison.compatible.push(format!(
                "{enumeration}: value {} `{}` added",
                value.number, value.name
            ));
        }
    }
    compare_reservations(
        enumeration,
        "value",
        (&was.reserved_numbers, &was.reserved_names),
        (&now.reserved_numbers, &now.reserved_names),
        comparison,
    );
}

/// A reservation in the baseline must still hold: once dropped, the number or name could be
/// given to something new that old peers read as the removed thing.
fn compare_reservations(
    owner: &str,
    kind: &str,
    (numbers_was, names_was): (&[NumberRange], &[String]),
    (numbers_now, names_now): (&[NumberRange], &[String]),
    comparison: &mut Comparison,
) {
    for range in numbers_was {
        if let Some(first_dropped) = first_uncovered(*range, numbers_now) {
            comparison.refusals.push(format!(
                "{owner}: reserved {kind} number {first_dropped} is no longer reserved (reservations are never dropped)"
            ));
        }
    }
    for name in names_was {
        if !names_now.contains(name) {
            comparison.refusals.push(format!(
                "{owner}: reserved {kind} name \"{name}\" is no longer reserved (reservations are never dropped)"
            ));
        }
    }
    for range in numbers_now {
        if !numbers_was.contains(range) {
            let shown = if range.first == range.last {
                range.first.to_string()
            } else {
                format!("{} to {}", range.first, range.last)
            };
            comparison
                .compatible
                .push(format!("{owner}: {kind} number(s) {shown} reserved"));
        }
    }
    for name in names_now {
        if !names_was.contains(name) {
            comparison
                .compatible
                .push(format!("{owner}: {kind} name \"{name}\" reserved"));
        }
    }
}

/// The first number of `range` that none of `ranges` covers, if any (ranges may be huge, as in
/// `reserved 1000 to max;`, so this walks range bounds, not numbers).
fn first_uncovered(range: NumberRange, ranges: &[NumberRange]) -> Option<i32> {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut next = range.first;
    for covering in sorted {
        if covering.first > next {
            break;
        }
        if covering.last >= next {
            match covering.last.checked_add(1) {
                Some(after) => next = after,
                None => return None,
            }
        }
        if next > range.last {
            return None;
        }
    }
    (next <= range.last).then_some(next)
}

fn compare_service(was: &ServiceListing, now: &ServiceListing, comparison: &mut Comparison) {
    let service = &was.name;
    let methods_now = by_name(&now.methods, |method| &method.name);
    for method in &was.methods {
        match methods_now.get(method.name.as_str()) {
            None => comparison.refusals.push(format!(
                "{service}: method {} is gone (removed or renamed)",
                method.name
            )),
            Some(method_now) => compare_method(service, method, method_now, comparison),
        }
    }
    let methods_was = by_name(&was.methods, |method| &method.name);
    for method in &now.methods {
        if !methods_was.contains_key(method.name.as_str()) {
            comparison
                .compatible
                .push(format!("{service}: method {} added", method.name));
        }
    }
}

fn compare_method(
    service: &str,
    was: &MethodListing,
    now: &MethodListing,
    comparison: &mut Comparison,
) {
    let method = format!("{service}.{}", was.name);
    if was.input != now.input {
        comparison.refusals.push(format!(
            "{method}: input changed from {} to {}",
            was.input, now.input
        ));
    }
    if was.output != now.output {
        comparison.refusals.push(format!(
            "{method}: output changed from {} to {}",
            was.output, now.output
        ));
    }
    let shape = |listing: &MethodListing| match (listing.client_streaming, listing.server_streaming)
    {
        (false, false) => "unary",
        (false, true) => "server streaming",
        (true, false) => "client streaming",
        (true, true) => "bidirectional streaming",
    };
    if shape(was) != shape(now) {
        comparison.refusals.push(format!(
            "{method}: changed from {} to {}",
            shape(was),
            shape(now)
        ));
    }
}
