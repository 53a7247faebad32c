//! The `delete_device_push` Lambda: see `im_functions::by_name::delete_device_push`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_device_push()).await
}
