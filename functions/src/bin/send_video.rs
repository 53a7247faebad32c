//! The `send_video` Lambda: see `im_functions::by_name::send_video`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::send_video()).await
}
