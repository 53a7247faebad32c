//! The `get_media` Lambda: see `im_functions::by_name::get_media`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_media()).await
}
