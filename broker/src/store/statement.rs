//! Statements built at run time (multi-row inserts, `IN (...)` lists, optional filters) with
//! numbered placeholders (`$1`, `$2`, ...), which both SQLite and PostgreSQL accept.
//!
//! sqlx's own `QueryBuilder<Any>` writes `?`, which PostgreSQL rejects, so the broker builds
//! these few statements here. The text only ever holds fixed SQL from this crate and placeholder
//! numbers; every value travels as a bound argument, never in the text.

use std::fmt::Write as _;

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::{Arguments as _, AssertSqlSafe, Encode, Type};

/// A statement under construction: SQL text plus its bound arguments, in order.
#[derive(Default)]
pub(crate) struct NumberedStatement {
    sql: String,
    arguments: AnyArguments,
    bound: usize,
    error: Option<sqlx::error::BoxDynError>,
}

impl NumberedStatement {
    /// Starts a statement with fixed SQL text.
    pub(crate) fn new(sql: &'static str) -> Self {
        Self {
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
        let _ = write!(self.sql, "${}", self.bound);
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
    statement: &'s mut NumberedStatement,
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
    use super::NumberedStatement;

    #[test]
    fn placeholders_are_numbered_in_binding_order() {
        let mut statement = NumberedStatement::new("INSERT INTO t (a, b) ");
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
}
