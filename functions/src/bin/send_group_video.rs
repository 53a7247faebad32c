//! The `send_group_video` Lambda: see `im_functions::by_name::send_group_video`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::send_group_video()).await
}
