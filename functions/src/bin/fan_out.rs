//! The `fan_out` Lambda: see `im_functions::by_name::fan_out`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::fan_out()).await
}
