//! The `presign_audio_upload` Lambda: see `im_functions::by_name::presign_audio_upload`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::presign_audio_upload()).await
}
