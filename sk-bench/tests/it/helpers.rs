mod platform;

pub use platform::Platform;
