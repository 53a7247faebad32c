//! The `rotate_group_key` Lambda: see `im_functions::by_name::rotate_group_key`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::rotate_group_key()).await
}
