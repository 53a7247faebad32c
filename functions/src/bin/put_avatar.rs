//! The `put_avatar` Lambda: see `im_functions::by_name::put_avatar`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::put_avatar()).await
}
