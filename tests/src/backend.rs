//! The database backends the end-to-end suite runs on (from [`kruispunt_broker::testing`]) and
//! [`backend_test!`](crate::backend_test), which runs one test function on each.

pub use kruispunt_broker::testing::{Backend, TestDatabase};

/// Runs the end-to-end test function `$name(backend: Backend)` on every backend: declares a
/// module `$name` with the tests `sqlite` and `postgres` (the latter skipped, saying so, without
/// `KRUISPUNT_TEST_POSTGRES_URL`). Written next to the function, which stays ordinary code:
///
/// ```ignore
/// backend_test!(a_behaviour);
/// async fn a_behaviour(backend: Backend) { let exchange = TestExchange::start(backend).await; }
/// ```
#[macro_export]
macro_rules! backend_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(backend) = $crate::Backend::postgres_or_skip(module_path!()) {
                    super::$name(backend).await;
                }
            }
        }
    };
}
