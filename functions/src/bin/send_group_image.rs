//! The `send_group_image` Lambda: see `im_functions::by_name::send_group_image`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::send_group_image()).await
}
