//! Statements built at run time (multi-row inserts, `IN (...)` lists, optional filters) with
//! the placeholders each backend binds best: numbered (`$1`, `$2`, ...) on PostgreSQL, which
//! accepts nothing else, and anonymous (`?`) on SQLite, where looking up a named or numbered
//! parameter walks the statement's parameter list, so binding n numbered parameters costs
//! O(n²) (it was 5% of the broker's CPU with 2,000-parameter group commits).
//!
//! sqlx's own `QueryBuilder<Any>` always writes `?`, so the broker builds these few statements
//! here. The text only ever holds fixed SQL from this crate and placeholders; every value
//! travels as a bound argument, never in the text.

use std::fmt::Write as _;

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::{Arguments as _, AssertSqlSafe, Encode, Type};

/// How a statement marks its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Placeholders {
    /// `$1`, `$2`, ...: PostgreSQL.
    #[default]
    Numbered,
    /// `?`, bound in order of appearance: SQLite.
    Anonymous,
}

impl Placeholders {
    /// The style for a connection whose `backend_name()` is `backend_name`.
    pub(crate) fn for_backend_name(backend_name: &str) -> Self {
        if backend_name.eq_ignore_ascii_case("sqlite") {
            Self::Anonymous
        } else {
            Self::Numbered
        }
    }

    /// The style for `backend`.
    pub(crate) fn for_backend(backend: super::Backend) -> Self {
        match backend {
            super::Backend::Sqlite => Self::Anonymous,
            super::Backend::Postgres => Self::Numbered,
        }
    }
}

/// A statement under construction: SQL text plus its bound arguments, in order.
#[derive(Default)]
pub(crate) struct StatementBuilder {
    placeholders: Placeholders,
    sql: String,
    arguments: AnyArguments,
    bound: usize,
    error: Option<sqlx::error::BoxDynError>,
}

impl StatementBuilder {
    /// Starts a statement with fixed SQL text, for a backend taking `placeholders`.
    pub(crate) fn new(placeholders: Placeholders, sql: &'static str) -> Self {
        Self {
            placeholders,
            sql: sql.to_owned(),
            ..Self::default()
        }
    }

    /// Appends fixed SQL text.
    pub(crate) fn push(&mut self, sql: &'static str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value` and binds it.
    pub(crate) fn push_bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        self.bound += 1;
        match self.placeholders {
            Placeholders::Numbered => {
                let _ = write!(self.sql, "${}", self.bound);
            }
            Placeholders::Anonymous => self.sql.push('?'),
        }
        if let Err(error) = self.arguments.add(value) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Appends `VALUES (...), (...)`: one parenthesised group per item, whose values
    /// `bind_row` binds through the [`RowBinder`] it is given.
    pub(crate) fn push_values<I, F>(&mut self, items: I, mut bind_row: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(&mut RowBinder<'_>, I::Item),
    {
        self.sql.push_str("VALUES ");
        for (position, item) in items.into_iter().enumerate() {
            if position > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            let mut row = RowBinder {
                statement: self,
                first: true,
            };
            bind_row(&mut row, item);
            self.sql.push(')');
        }
        self
    }

    /// Appends `(v1, v2, ...)`, one placeholder per value: the right side of an `IN`.
    pub(crate) fn push_list<'q, T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        self.sql.push('(');
        for (position, value) in values.into_iter().enumerate() {
            if position > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(value);
        }
        self.sql.push(')');
        self
    }

    /// The finished query, or the first binding error.
    pub(crate) fn build(self) -> Result<Query<'static, Any, AnyArguments>, sqlx::Error> {
        if let Some(error) = self.error {
            return Err(sqlx::Error::Encode(error));
        }
        // The text is this crate's fixed SQL plus `$n` placeholders (see the module comment).
        Ok(sqlx::query_with(AssertSqlSafe(self.sql), self.arguments))
    }
}

/// Binds the values of one `VALUES` group, comma-separated.
pub(crate) struct RowBinder<'s> {
    statement: &'s mut StatementBuilder,
    first: bool,
}

impl RowBinder<'_> {
    /// Binds the next value of the group.
    pub(crate) fn bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        if !self.first {
            self.statement.sql.push_str(", ");
        }
        self.first = false;
        self.statement.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::{Placeholders, StatementBuilder};

    #[test]
    fn placeholders_are_numbered_in_binding_order() {
        let mut statement = StatementBuilder::new(Placeholders::Numbered, "INSERT INTO t (a, b) ");
        statement.push_values([(1_i64, "x"), (2, "y")], |row, (a, b)| {
            row.bind(a).bind(b);
        });
        statement.push(" WHERE c IN ").push_list([7_i64, 8]);
        assert_eq!(
            statement.sql,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) WHERE c IN ($5, $6)"
        );
        assert!(statement.build().is_ok());
    }

    #[test]
    fn anonymous_placeholders_appear_in_binding_order() {
        let mut statement = StatementBuilder::new(Placeholders::Anonymous, "SELECT ");
        statement.push_list([1_i64, 2]);
        assert_eq!(statement.sql, "SELECT (?, ?)");
    }
}
