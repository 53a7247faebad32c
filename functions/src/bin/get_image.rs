//! The `get_image` Lambda: see `im_functions::by_name::get_image`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_image()).await
}
