use sk_common::shutdown::TaskFailed;

/// Everything that can stop order-consumer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] sk_common::Error),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
