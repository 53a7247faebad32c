//! The `list_blocks` Lambda: see `im_functions::by_name::list_blocks`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_blocks()).await
}
