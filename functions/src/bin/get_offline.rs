//! The `get_offline` Lambda: see `im_functions::by_name::get_offline`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_offline()).await
}
