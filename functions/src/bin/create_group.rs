//! The `create_group` Lambda: see `im_functions::by_name::create_group`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::create_group()).await
}
