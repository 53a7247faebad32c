//! The `leave_group` Lambda: see `im_functions::function`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(env!("CARGO_BIN_NAME")).await
}
