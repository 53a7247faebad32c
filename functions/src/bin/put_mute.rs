//! The `put_mute` Lambda: see `im_functions::by_name::put_mute`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::put_mute()).await
}
