//! The `presign_media_upload` Lambda: see `im_functions::by_name::presign_media_upload`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::presign_media_upload()).await
}
