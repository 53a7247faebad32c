//! The `report` Lambda: see `im_functions::by_name::report`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::report()).await
}
